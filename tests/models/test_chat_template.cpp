// Chat templates: each built-in format's rendering of one conversation, name lookup, and a model's Jinja template
// through ChatTemplate. Real templates are checked against @huggingface/jinja in tests/tokenizer_npm.
#include <doctest/doctest.h>

#include <vector>

#include "models/chat_template.h"
#include "runtime/error.h"

using namespace edgellm;

namespace {
const std::vector<ChatMessage> kChat = {
    {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}};
}

TEST_CASE("chat templates render the families' formats") {
  CHECK(apply_chat_template(ChatFormat::Llama2, kChat) ==
        "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]");
  CHECK(apply_chat_template(ChatFormat::Llama3, kChat) ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
  CHECK(apply_chat_template(ChatFormat::ChatML, kChat) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  CHECK(apply_chat_template(ChatFormat::ChatML, kChat, false).ends_with("Bye<|im_end|>\n"));
  CHECK(apply_chat_template(ChatFormat::Mistral, kChat) ==
        "<s>[INST] Be brief.\n\nHi [/INST]Hello!</s>[INST] Bye [/INST]");
  CHECK(apply_chat_template(ChatFormat::Zephyr, kChat) ==
        "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n<|user|>\nBye</s>\n<|assistant|>\n");
}

TEST_CASE("chat templates: names and bad roles") {
  CHECK(chat_format_from_name("qwen2") == ChatFormat::ChatML);
  CHECK(chat_format_from_name("smollm") == ChatFormat::ChatML);
  CHECK(chat_format_from_name("llama3") == ChatFormat::Llama3);
  CHECK_FALSE(chat_format_from_name("gemma").has_value());
  for (auto t : {ChatFormat::Llama2, ChatFormat::Llama3, ChatFormat::ChatML, ChatFormat::Mistral, ChatFormat::Zephyr})
    CHECK(chat_format_from_name(chat_template_name(t)) == t);
  const std::vector<ChatMessage> bad_role = {{"tool", "x"}};
  CHECK_THROWS_AS(apply_chat_template(ChatFormat::ChatML, bad_role), Error);
  const std::vector<ChatMessage> late_system = {{"user", "x"}, {"system", "y"}};
  CHECK_THROWS_AS(apply_chat_template(ChatFormat::Llama3, late_system), Error);
}

TEST_CASE("chat templates: a model's Jinja template renders through models/jinja with its special tokens") {
  // Gemma 3's shape: bos_token, a system prompt folded into the first user turn, roles that must alternate.
  const std::string src =
      "{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}{%- set first = messages[0]['content'] + '\\n\\n' -%}"
      "{%- set loop_messages = messages[1:] -%}{%- else -%}{%- set first = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
      "{%- for message in loop_messages -%}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
      "{{ raise_exception('Conversation roles must alternate') }}{%- endif -%}"
      "{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role']) + '\\n' + (first if loop.first else '') }}"
      "{{ message['content'] | trim }}{{ '<end_of_turn>\\n' }}{%- endfor -%}{%- if add_generation_prompt %}<start_of_turn>model\n{% endif %}";
  const ChatTemplate t = ChatTemplate::from_jinja(src, "gemma-like", {{"bos_token", "<bos>"}, {"eos_token", "<eos>"}});
  CHECK(t.is_jinja());
  CHECK(t.name() == "jinja (gemma-like)");
  CHECK(apply_chat_template(t, kChat) ==
        "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
  CHECK(apply_chat_template(t, kChat, false).ends_with("Bye<end_of_turn>\n"));
  const std::vector<ChatMessage> twice = {{"user", "a"}, {"user", "b"}};
  try {
    apply_chat_template(t, twice);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("gemma-like:1:") == 0);
    CHECK(std::string(e.what()).find("raise_exception: Conversation roles must alternate") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(ChatTemplate::from_jinja("{% call x() %}{% endcall %}", "cfg", {}),
                       "cfg:1:1: unsupported construct: '{% call %}' statement", Error);
}
