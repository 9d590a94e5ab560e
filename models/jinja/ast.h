// The Jinja syntax tree: one node type with a kind, used for statements and expressions alike.
// Not the evaluator (eval.cpp); nodes are immutable once parsed and shared by every render.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edgellm::jinja {

struct Node;
using NodePtr = std::unique_ptr<Node>;

enum class NodeKind {
  // statements
  Text, Comment, If, For, Set, Macro, Break, Continue,
  // expressions
  Identifier, Integer, Float, String, ArrayLit, TupleLit, ObjectLit, Member, Slice, Call, Keyword, Filter, Test,
  Unary, Binary, Ternary, Select,
};

// What each kind uses (unused fields stay empty):
//   Text/String: text;  Identifier: text (name);  Integer: ival;  Float: fval
//   ArrayLit/TupleLit: list;  ObjectLit: list = key, value, key, value...
//   Member: a = object, b = property, flag = computed ([...]);  Slice: a, b, c = start, stop, step (may be null)
//   Call: a = callee, list = arguments (Keyword nodes: text = name, a = value)
//   Filter: a = operand, text = filter, list = arguments, flag = called with (...)
//   Test: a = operand, text = test, flag = negated;  Unary: text = op, a;  Binary: text = op, a, b
//   Ternary: a = condition, b = then, c = else;  Select: a = value, b = condition (`x if c` without else)
//   If: a = test, body, alt;  For: a = target (Identifier/TupleLit), b = iterable, body, alt (the else block)
//   Set: a = target (Identifier, TupleLit or Member), b = value;  Macro: text = name, list = parameters, body
struct Node {
  NodeKind kind;
  size_t pos = 0;  // byte offset in the template source, for error messages
  std::string text;
  int64_t ival = 0;
  double fval = 0;
  bool flag = false;
  NodePtr a, b, c;
  std::vector<NodePtr> list, body, alt;
};

}  // namespace edgellm::jinja
