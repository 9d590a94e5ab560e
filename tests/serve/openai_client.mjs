// Drives `edgellm serve` with npm's `openai` client (a client nobody here wrote): plain, streaming, completions,
// embeddings, adapter switching, 4xx errors, a loopback load test and clients that disconnect mid-stream.
// Not a benchmark: the load test checks every answer and a time bound, not throughput. Usage:
//   node openai_client.mjs <edgellm binary> <node_modules dir> <adapter dir (alice.gguf, bob.gguf)>
// Exit codes: 0 passed; 77 the package is missing and $CI unset (CTest "skipped"); 1 a failure.
// Package (install: npm install --prefix build/npm --no-save openai@4.104.0; tools/test.sh does it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';

const [edgellm, modulesArg, adapterDir] = process.argv.slice(2);
if (!edgellm || !modulesArg || !adapterDir) {
  console.error('usage: node openai_client.mjs <edgellm> <node_modules dir> <adapter dir>');
  process.exit(1);
}
const modulesDir = path.resolve(modulesArg);
if (!fs.existsSync(path.join(modulesDir, 'openai', 'package.json'))) {
  console.error(`serve_openai: npm package openai missing in ${modulesDir} ` +
                '(npm install --prefix build/npm --no-save openai@4.104.0)');
  process.exit(process.env.CI ? 1 : 77);
}
const require = createRequire(path.join(modulesDir, 'noop.js'));
const openaiModule = require('openai');
const OpenAI = openaiModule.default ?? openaiModule;

const BASE = 'builtin:tiny';
const started = Date.now();
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(2)}s] ${msg}`);

// ---- the server ----------------------------------------------------------------------------------------
const server = spawn(edgellm, ['-t', '1', 'serve', '-m', BASE, '--chat-template', 'chatml', '--port', '0',
                               '--lora', `alice=${path.join(adapterDir, 'alice.gguf')}`,
                               '--lora', `bob=${path.join(adapterDir, 'bob.gguf')}`,
                               '--slots', '4', '--queue', '64', '-c', '256', '--max-tokens', '64',
                               '--max-body', '64'], { stdio: ['ignore', 'pipe', 'inherit'] });
let serverExit = null;
server.on('exit', (code, signal) => { serverExit = { code, signal }; });
const port = await new Promise((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error(`no "listening" line within 20 s: ${out}`)), 20000);
  server.stdout.on('data', (d) => {
    out += d;
    const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    if (m) { clearTimeout(timer); resolve(Number(m[1])); }
  });
  server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`edgellm serve exited (${code}): ${out}`)); });
});
const url = `http://127.0.0.1:${port}`;
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30000 });
log(`server on port ${port}`);

async function health() {
  const r = await fetch(`${url}/health`);
  assert.equal(r.status, 200);
  return r.json();
}
// Waits until no slot is busy (a disconnected stream's slot comes back when its next write fails).
async function idle() {
  for (let i = 0; i < 100; ++i) {
    const h = await health();
    if (h.busy === 0 && h.waiting === 0) return h;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`slots still busy: ${JSON.stringify(await health())}`);
}

const messages = [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Name a colour.' }];
const chat = (model, extra = {}) =>
  client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0, ...extra });
async function chatStream(model, extra = {}) {
  const stream = await chat(model, { stream: true, ...extra });
  let text = '', finish = null, chunks = 0;
  for await (const c of stream) {
    ++chunks;
    text += c.choices[0]?.delta?.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  return { text, finish, chunks };
}

try {
  // ---- models and health ------------------------------------------------------------------------------
  const models = (await client.models.list()).data.map((m) => m.id);
  assert.deepEqual(models.sort(), ['alice', 'bob', BASE].sort());
  assert.equal((await health()).status, 'ok');

  // ---- plain and streaming chat -----------------------------------------------------------------------
  const plain = await chat(BASE);
  assert.equal(plain.object, 'chat.completion');
  assert.equal(plain.choices[0].message.role, 'assistant');
  assert.equal(typeof plain.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(plain.choices[0].finish_reason));
  assert.ok(plain.usage.prompt_tokens > 10 && plain.usage.completion_tokens >= 1 && plain.usage.completion_tokens <= 24,
            JSON.stringify(plain.usage));
  const streamed = await chatStream(BASE);
  assert.equal(streamed.text, plain.choices[0].message.content, 'a greedy stream gives the plain reply');
  assert.equal(streamed.finish, plain.choices[0].finish_reason);
  assert.ok(streamed.chunks >= 2);
  log(`chat: ${JSON.stringify(plain.choices[0].message.content)} (${plain.usage.completion_tokens} tokens)`);

  // ---- completions, plain and streamed ----------------------------------------------------------------
  const comp = await client.completions.create({ model: BASE, prompt: 'Once upon a time', max_tokens: 12, temperature: 0 });
  assert.equal(comp.object, 'text_completion');
  assert.equal(comp.usage.completion_tokens, comp.choices[0].finish_reason === 'length' ? 12 : comp.usage.completion_tokens);
  let compText = '';
  for await (const c of await client.completions.create({ model: BASE, prompt: 'Once upon a time', max_tokens: 12,
                                                          temperature: 0, stream: true }))
    compText += c.choices[0]?.text ?? '';
  assert.equal(compText, comp.choices[0].text);

  // ---- embeddings (the client asks for base64 and decodes it; then floats) ----------------------------
  const emb = await client.embeddings.create({ model: BASE, input: ['red apples', 'green pears'] });
  assert.equal(emb.data.length, 2);
  for (const d of emb.data) {
    assert.equal(d.embedding.length, 64);
    const norm = Math.sqrt(d.embedding.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-4, `unit length, got ${norm}`);
  }
  const embF = await client.embeddings.create({ model: BASE, input: 'red apples', encoding_format: 'float' });
  embF.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - emb.data[0].embedding[i]) < 1e-6));
  const embAlice = await client.embeddings.create({ model: 'alice', input: 'red apples', encoding_format: 'float' });
  assert.ok(embAlice.data[0].embedding.some((x, i) => Math.abs(x - embF.data[0].embedding[i]) > 1e-3),
            'an adapter changes the embedding');

  // ---- adapter switching: each adapter its own reply, the same again after the others -----------------
  const reply = async (model) => (await chat(model)).choices[0].message.content;
  const ref = { [BASE]: plain.choices[0].message.content, alice: await reply('alice'), bob: await reply('bob') };
  assert.notEqual(ref.alice, ref[BASE]);
  assert.notEqual(ref.bob, ref[BASE]);
  assert.notEqual(ref.alice, ref.bob);
  assert.equal(await reply('alice'), ref.alice);
  assert.equal(await reply(BASE), ref[BASE]);
  assert.equal((await chatStream('bob')).text, ref.bob);
  await assert.rejects(chat('carol'), (e) => e.status === 404 && /carol/.test(e.message));
  log(`adapters: alice ${JSON.stringify(ref.alice)}, bob ${JSON.stringify(ref.bob)}`);

  // ---- bad requests: 400 (bad JSON, bad field), 413 (oversize body), 404 (unknown route) -------------
  const post = (p, body) => fetch(`${url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  let r = await post('/v1/chat/completions', '{"model": "x", "messages": [');
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /not valid JSON/);
  await assert.rejects(chat(BASE, { max_tokens: 1000 }), (e) => e.status === 400 && /max_tokens/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model: BASE, messages: [] }), (e) => e.status === 400);
  r = await post('/v1/chat/completions', JSON.stringify({ model: BASE, messages: [{ role: 'user', content: 'x'.repeat(70000) }] }));
  assert.equal(r.status, 413);
  assert.match((await r.json()).error.message, /larger than/);
  r = await fetch(`${url}/v1/nothing`);
  assert.equal(r.status, 404);

  // ---- load: 200 requests, 16 at a time, every answer checked against its adapter's reference ---------
  const kinds = [BASE, 'alice', 'bob'];
  const t0 = Date.now();
  let next = 0, done = 0;
  async function worker() {
    while (next < 200) {
      const i = next++;
      const model = kinds[i % 3];
      const text = i % 2 ? (await chatStream(model)).text : await reply(model);
      assert.equal(text, ref[model], `request ${i} (${model}, ${i % 2 ? 'stream' : 'plain'})`);
      ++done;
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker));
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(done, 200);
  assert.ok(seconds < 60, `200 requests took ${seconds} s`);
  const h = await idle();
  assert.equal(h.refused, 0);
  log(`load: 200 requests (16 concurrent) in ${seconds.toFixed(2)} s, all answered and checked`);

  // ---- clients that go away mid-stream leave the server healthy ---------------------------------------
  for (let k = 0; k < 4; ++k) {
    const ac = new AbortController();
    const stream = await client.chat.completions.create(
      { model: kinds[k % 3], messages, max_tokens: 64, temperature: 0.8, stream: true }, { signal: ac.signal });
    let got = 0;
    try {
      for await (const c of stream) { ++got; ac.abort(); }  // the client ends the stream quietly or throws
    } catch (e) {
      assert.ok(e.name === 'AbortError' || /abort/i.test(e.message), `an abort, got ${e}`);
    }
    assert.ok(got >= 1 && got < 64, `the stream was cut (${got} chunks)`);
  }
  // A raw socket that sends a streaming request and closes after the first bytes of the answer.
  await new Promise((resolve, reject) => {
    const body = JSON.stringify({ model: 'bob', messages, max_tokens: 64, stream: true });
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
              `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
    s.once('data', () => { s.destroy(); resolve(); });
    s.on('error', reject);
  });
  await idle();
  assert.equal(await reply('alice'), ref.alice, 'the server answers as before');
  log('disconnects: the server is healthy and answers as before');
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  if (!serverExit) {
    server.kill('SIGTERM');
    const t = Date.now();
    while (!serverExit && Date.now() - t < 5000) await new Promise((r) => setTimeout(r, 50));
  }
  if (!serverExit) { server.kill('SIGKILL'); console.error('edgellm serve did not stop on SIGTERM'); process.exitCode = 1; }
  else if (serverExit.code !== 0) { console.error(`edgellm serve exited with ${JSON.stringify(serverExit)}`); process.exitCode = 1; }
}
log(process.exitCode ? 'FAILED' : 'passed');
