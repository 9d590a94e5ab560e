// The Jinja lexer: template text -> tokens, with the whitespace control chat templates are written for
// ({%- -%}, {{- -}}, and transformers' trim_blocks + lstrip_blocks). Not a parser; positions index the source.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace edgellm::jinja {

enum class Tok {
  Text, Comment, OpenStatement, CloseStatement, OpenExpression, CloseExpression, Identifier, Number, String,
  OpenParen, CloseParen, OpenBracket, CloseBracket, OpenBrace, CloseBrace, Comma, Dot, Colon, Pipe, Equals,
  Compare,   // == != < > <= >=
  Additive,  // + - ~
  Multiplicative,  // * / // %
  Power,     // **
  Unary,     // a sign with no number after it, where no operand precedes
};

struct Token {
  Tok type;
  std::string value;
  size_t pos;  // byte offset in the original template
};

// "name:line:col" for a byte offset of `source` (1-based line and column).
std::string where(std::string_view name, std::string_view source, size_t pos);

// Throws Error("name:line:col: ...") on an unterminated string or comment, or a character Jinja has no use for.
// Whitespace control follows @huggingface/jinja: a trailing newline of the template is dropped, lstrip_blocks
// removes spaces and tabs before a tag that starts a line, trim_blocks the newline after a tag.
std::vector<Token> tokenize(std::string_view source, std::string_view name);

}  // namespace edgellm::jinja
