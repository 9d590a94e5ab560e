// Chat templates: each family's rendering of one conversation, name lookup and template sniffing.
// Llama 3's template is also checked against transformers.js's Jinja rendering in tests/tokenizer_npm.
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
  CHECK(apply_chat_template(ChatTemplate::Llama2, kChat) ==
        "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]");
  CHECK(apply_chat_template(ChatTemplate::Llama3, kChat) ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
  CHECK(apply_chat_template(ChatTemplate::ChatML, kChat) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  CHECK(apply_chat_template(ChatTemplate::ChatML, kChat, false).ends_with("Bye<|im_end|>\n"));
  CHECK(apply_chat_template(ChatTemplate::Mistral, kChat) ==
        "<s>[INST] Be brief.\n\nHi [/INST]Hello!</s>[INST] Bye [/INST]");
  CHECK(apply_chat_template(ChatTemplate::Zephyr, kChat) ==
        "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n<|user|>\nBye</s>\n<|assistant|>\n");
}

TEST_CASE("chat templates: names, sniffing and bad roles") {
  CHECK(chat_template_from_name("qwen2") == ChatTemplate::ChatML);
  CHECK(chat_template_from_name("smollm") == ChatTemplate::ChatML);
  CHECK(chat_template_from_name("llama3") == ChatTemplate::Llama3);
  CHECK_FALSE(chat_template_from_name("gemma").has_value());
  for (auto t : {ChatTemplate::Llama2, ChatTemplate::Llama3, ChatTemplate::ChatML, ChatTemplate::Mistral, ChatTemplate::Zephyr})
    CHECK(chat_template_from_name(chat_template_name(t)) == t);
  CHECK(detect_chat_template("{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n'}}") == ChatTemplate::ChatML);
  CHECK(detect_chat_template("{{ bos_token }}{{ '<|start_header_id|>' }}") == ChatTemplate::Llama3);
  CHECK(detect_chat_template("{{ '<|user|>\\n' + message['content'] + eos_token }}") == ChatTemplate::Zephyr);
  CHECK(detect_chat_template("[INST] <<SYS>>\\n") == ChatTemplate::Llama2);
  CHECK(detect_chat_template("{{ '[INST] ' + message['content'] + ' [/INST]' }}") == ChatTemplate::Mistral);
  CHECK_FALSE(detect_chat_template("{{ '<start_of_turn>user' }}").has_value());
  const std::vector<ChatMessage> bad_role = {{"tool", "x"}};
  CHECK_THROWS_AS(apply_chat_template(ChatTemplate::ChatML, bad_role), Error);
  const std::vector<ChatMessage> late_system = {{"user", "x"}, {"system", "y"}};
  CHECK_THROWS_AS(apply_chat_template(ChatTemplate::Llama3, late_system), Error);
}
