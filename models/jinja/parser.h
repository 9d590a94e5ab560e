// The Jinja parser: tokens -> statement list, with @huggingface/jinja's grammar and operator precedence.
// Not the evaluator. Constructs outside the subset ({% call %}, {% filter %}, {% generation %}, block set, *args
// spreads...) are refused at parse time with an Error naming the construct and its position.
#pragma once

#include <string_view>
#include <vector>

#include "models/jinja/ast.h"
#include "models/jinja/lexer.h"

namespace edgellm::jinja {

std::vector<NodePtr> parse(const std::vector<Token>& tokens, std::string_view source, std::string_view name);

}  // namespace edgellm::jinja
