// Recursive descent over Jinja tokens. Precedence, lowest first: `x if c else y`, or, and, not, comparisons and
// (not) in, + - ~, * / // %, **, `is` tests, | filters, unary signs, calls/members/literals (as the reference).
// Not the evaluator; no constant folding.
#include "models/jinja/parser.h"

#include "runtime/error.h"

namespace edgellm::jinja {
namespace {

class Parser {
 public:
  Parser(const std::vector<Token>& t, std::string_view source, std::string_view name) : t_(t), src_(source), name_(name) {}

  std::vector<NodePtr> program() {
    std::vector<NodePtr> out;
    while (cur_ < t_.size()) out.push_back(any());
    return out;
  }

 private:
  const std::vector<Token>& t_;
  std::string_view src_, name_;
  size_t cur_ = 0;
  int depth_ = 0;
  static constexpr int kMaxDepth = 128;

  [[noreturn]] void error(size_t pos, const std::string& what) const {
    throw Error(fmt::format("{}: {}", where(name_, src_, pos), what));
  }
  size_t here() const { return cur_ < t_.size() ? t_[cur_].pos : src_.size(); }
  bool is(Tok type, size_t ahead = 0) const { return cur_ + ahead < t_.size() && t_[cur_ + ahead].type == type; }
  bool is_ident(std::string_view v, size_t ahead = 0) const { return is(Tok::Identifier, ahead) && t_[cur_ + ahead].value == v; }
  bool is_statement(std::initializer_list<std::string_view> names) const {
    if (!is(Tok::OpenStatement) || !is(Tok::Identifier, 1)) return false;
    for (std::string_view v : names)
      if (t_[cur_ + 1].value == v) return true;
    return false;
  }
  const Token& expect(Tok type, const char* what) {
    if (!is(type)) error(here(), fmt::format("expected {}, found {}", what, cur_ < t_.size() ? "'" + t_[cur_].value + "'" : "the end of the template"));
    return t_[cur_++];
  }
  void expect_ident(const char* v) {
    if (!is_ident(v)) error(here(), fmt::format("expected '{}'", v));
    ++cur_;
  }
  static size_t leftmost(const Node& n) { return n.kind == NodeKind::Member && n.a ? leftmost(*n.a) : n.pos; }
  NodePtr node(NodeKind k, size_t pos) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    n->pos = pos;
    return n;
  }
  // Statements up to (not including) one of `ends`; the template ending first is an error naming `opener`.
  std::vector<NodePtr> block(std::initializer_list<std::string_view> ends, const char* opener, size_t open_pos) {
    std::vector<NodePtr> out;
    while (!is_statement(ends)) {
      if (cur_ >= t_.size()) error(open_pos, fmt::format("'{{% {} %}}' is never closed", opener));
      out.push_back(any());
    }
    return out;
  }
  void end_tag(const char* name) {
    expect(Tok::OpenStatement, "'{%'");
    expect_ident(name);
    expect(Tok::CloseStatement, "'%}'");
  }

  NodePtr any() {
    const Token& tok = t_[cur_];
    switch (tok.type) {
      case Tok::Comment: ++cur_; return node(NodeKind::Comment, tok.pos);
      case Tok::Text: {
        auto n = node(NodeKind::Text, tok.pos);
        n->text = t_[cur_++].value;
        return n;
      }
      case Tok::OpenStatement: return statement();
      case Tok::OpenExpression: {
        ++cur_;
        auto e = expression();
        expect(Tok::CloseExpression, "'}}'");
        return e;
      }
      default: error(tok.pos, fmt::format("unexpected '{}' outside a tag", tok.value));
    }
  }

  NodePtr statement() {
    const size_t open = t_[cur_++].pos;
    struct Depth {
      int& d;
      explicit Depth(int& x) : d(++x) {}
      ~Depth() { --d; }
    } depth(depth_);
    if (depth_ > kMaxDepth) error(open, fmt::format("blocks nested deeper than {}", kMaxDepth));
    if (!is(Tok::Identifier)) error(here(), "expected a statement name after '{%'");
    const std::string name = t_[cur_++].value;
    if (name == "set") {
      auto n = node(NodeKind::Set, open);
      n->a = sequence(false);
      if (!is(Tok::Equals)) error(open, "unsupported construct: block assignment '{% set x %}...{% endset %}'");
      ++cur_;
      n->b = sequence(false);
      expect(Tok::CloseStatement, "'%}'");
      return n;
    }
    if (name == "if") {
      auto n = if_rest(open);
      end_tag("endif");
      return n;
    }
    if (name == "for") {
      auto n = node(NodeKind::For, open);
      n->a = sequence(true);
      if (n->a->kind != NodeKind::Identifier && n->a->kind != NodeKind::TupleLit) error(n->a->pos, "expected a loop variable name");
      expect_ident("in");
      n->b = expression();
      expect(Tok::CloseStatement, "'%}'");
      n->body = block({"endfor", "else"}, "for", open);
      if (is_statement({"else"})) {
        cur_ += 2;
        expect(Tok::CloseStatement, "'%}'");
        n->alt = block({"endfor"}, "for", open);
      }
      end_tag("endfor");
      return n;
    }
    if (name == "macro") {
      auto n = node(NodeKind::Macro, open);
      n->text = expect(Tok::Identifier, "a macro name").value;
      expect(Tok::OpenParen, "'('");
      n->list = arguments();
      for (const NodePtr& p : n->list)
        if (p->kind != NodeKind::Identifier && p->kind != NodeKind::Keyword) error(p->pos, "expected a macro parameter name");
      expect(Tok::CloseStatement, "'%}'");
      n->body = block({"endmacro"}, "macro", open);
      end_tag("endmacro");
      return n;
    }
    if (name == "break" || name == "continue") {
      expect(Tok::CloseStatement, "'%}'");
      return node(name == "break" ? NodeKind::Break : NodeKind::Continue, open);
    }
    if (name == "call" || name == "filter" || name == "generation" || name == "include" || name == "import" ||
        name == "extends" || name == "block" || name == "with" || name == "raw" || name == "autoescape")
      error(open, fmt::format("unsupported construct: '{{% {} %}}' statement", name));
    error(open, fmt::format("unknown statement '{}'", name));
  }

  // After "{% if" / "{% elif": test, body, and an elif chain or else block (the caller consumes endif).
  NodePtr if_rest(size_t open) {
    auto n = node(NodeKind::If, open);
    n->a = expression();
    expect(Tok::CloseStatement, "'%}'");
    n->body = block({"elif", "else", "endif"}, "if", open);
    if (is_statement({"elif"})) {
      const size_t p = t_[cur_].pos;
      cur_ += 2;
      n->alt.push_back(if_rest(p));
    } else if (is_statement({"else"})) {
      cur_ += 2;
      expect(Tok::CloseStatement, "'%}'");
      n->alt = block({"endif"}, "if", open);
    }
    return n;
  }

  // a, b, c -> a tuple; a single expression stays itself. primary: loop targets (names only).
  NodePtr sequence(bool primary) {
    const size_t p = here();
    std::vector<NodePtr> xs;
    xs.push_back(primary ? primary_expr() : expression());
    if (!is(Tok::Comma)) return std::move(xs[0]);
    while (is(Tok::Comma)) {
      ++cur_;
      xs.push_back(primary ? primary_expr() : expression());
    }
    auto n = node(NodeKind::TupleLit, p);
    n->list = std::move(xs);
    return n;
  }

  NodePtr expression() {
    // A model file's template is untrusted input: nesting deep enough to exhaust the stack is refused.
    struct Depth {
      int& d;
      explicit Depth(int& x) : d(++x) {}
      ~Depth() { --d; }
    } depth(depth_);
    if (depth_ > kMaxDepth) error(here(), fmt::format("expressions nested deeper than {}", kMaxDepth));
    auto a = binary_or();
    if (!is_ident("if")) return a;
    const size_t p = t_[cur_++].pos;
    auto test = binary_or();
    if (is_ident("else")) {
      ++cur_;
      auto n = node(NodeKind::Ternary, p);
      n->a = std::move(test);
      n->b = std::move(a);
      n->c = expression();
      return n;
    }
    auto n = node(NodeKind::Select, p);
    n->a = std::move(a);
    n->b = std::move(test);
    return n;
  }
  NodePtr binary(NodePtr l, const Token& op, NodePtr r) {
    auto n = node(NodeKind::Binary, op.pos);
    n->text = op.value;
    n->a = std::move(l);
    n->b = std::move(r);
    return n;
  }
  NodePtr binary_or() {
    auto l = binary_and();
    while (is_ident("or")) { const Token& op = t_[cur_++]; l = binary(std::move(l), op, binary_and()); }
    return l;
  }
  NodePtr binary_and() {
    auto l = negation();
    while (is_ident("and")) { const Token& op = t_[cur_++]; l = binary(std::move(l), op, negation()); }
    return l;
  }
  NodePtr negation() {
    if (!is_ident("not")) return comparison();
    auto n = node(NodeKind::Unary, t_[cur_++].pos);
    n->text = "not";
    n->a = negation();
    return n;
  }
  NodePtr comparison() {
    auto l = additive();
    while (true) {
      Token op;
      if (is_ident("not") && is_ident("in", 1)) { op = {Tok::Identifier, "not in", t_[cur_].pos}; cur_ += 2; }
      else if (is_ident("in") || is(Tok::Compare)) op = t_[cur_++];
      else break;
      l = binary(std::move(l), op, additive());
    }
    return l;
  }
  NodePtr additive() {
    auto l = multiplicative();
    while (is(Tok::Additive)) { const Token& op = t_[cur_++]; l = binary(std::move(l), op, multiplicative()); }
    return l;
  }
  NodePtr multiplicative() {
    auto l = power();
    while (is(Tok::Multiplicative)) { const Token& op = t_[cur_++]; l = binary(std::move(l), op, power()); }
    return l;
  }
  NodePtr power() {
    auto l = test();
    while (is(Tok::Power)) { const Token& op = t_[cur_++]; l = binary(std::move(l), op, test()); }
    return l;
  }
  NodePtr test() {
    auto operand = filter();
    while (is_ident("is")) {
      auto n = node(NodeKind::Test, t_[cur_++].pos);
      if (is_ident("not")) { n->flag = true; ++cur_; }
      n->text = expect(Tok::Identifier, "a test name").value;
      if (is(Tok::OpenParen)) error(here(), fmt::format("unsupported construct: test '{}' with arguments", n->text));
      n->a = std::move(operand);
      operand = std::move(n);
    }
    return operand;
  }
  NodePtr filter() {
    auto operand = sign();
    while (is(Tok::Pipe)) {
      auto n = node(NodeKind::Filter, t_[cur_++].pos);
      n->text = expect(Tok::Identifier, "a filter name").value;
      if (is(Tok::OpenParen)) {
        ++cur_;
        n->flag = true;
        n->list = arguments();
      }
      n->a = std::move(operand);
      operand = std::move(n);
    }
    return operand;
  }
  NodePtr sign() {
    if ((is(Tok::Unary) || is(Tok::Additive)) && (t_[cur_].value == "-" || t_[cur_].value == "+")) {
      auto n = node(NodeKind::Unary, t_[cur_].pos);
      n->text = t_[cur_++].value;
      n->a = sign();
      return n;
    }
    return call_member();
  }
  NodePtr call_member() {
    auto e = member(primary_expr());
    while (is(Tok::OpenParen)) {
      ++cur_;
      auto n = node(NodeKind::Call, leftmost(*e));  // errors point at the callee's start
      n->a = std::move(e);
      n->list = arguments();
      e = member(std::move(n));
    }
    return e;
  }
  // After "(": arguments up to ")", keyword arguments as Keyword nodes.
  std::vector<NodePtr> arguments() {
    std::vector<NodePtr> args;
    while (!is(Tok::CloseParen)) {
      if (cur_ >= t_.size()) error(src_.size(), "expected ')'");
      if (is(Tok::Multiplicative) || is(Tok::Power)) error(here(), "unsupported construct: argument unpacking ('*' or '**')");
      if (is(Tok::Identifier) && is(Tok::Equals, 1)) {
        auto k = node(NodeKind::Keyword, t_[cur_].pos);
        k->text = t_[cur_].value;
        cur_ += 2;
        k->a = expression();
        args.push_back(std::move(k));
      } else {
        args.push_back(expression());
      }
      if (is(Tok::Comma)) ++cur_;
      else if (!is(Tok::CloseParen)) error(here(), "expected ',' or ')' in an argument list");
    }
    ++cur_;
    return args;
  }
  NodePtr member(NodePtr object) {
    while (is(Tok::Dot) || is(Tok::OpenBracket)) {
      const Token& op = t_[cur_++];
      auto n = node(NodeKind::Member, op.pos);
      n->a = std::move(object);
      if (op.type == Tok::OpenBracket) {
        n->flag = true;
        n->b = subscript(op.pos);
        expect(Tok::CloseBracket, "']'");
      } else {
        n->b = primary_expr();
        if (n->b->kind != NodeKind::Identifier && n->b->kind != NodeKind::Integer) error(n->b->pos, "expected a name after '.'");
      }
      object = std::move(n);
    }
    return object;
  }
  // Inside [...]: an index expression, or a slice start:stop:step with any part left out.
  NodePtr subscript(size_t pos) {
    std::vector<NodePtr> parts;
    bool slice = false;
    while (!is(Tok::CloseBracket)) {
      if (cur_ >= t_.size()) error(pos, "'[' is never closed");
      if (is(Tok::Colon)) { parts.push_back(nullptr); ++cur_; slice = true; continue; }
      parts.push_back(expression());
      if (is(Tok::Colon)) { ++cur_; slice = true; }
      else if (!is(Tok::CloseBracket)) error(here(), "expected ':' or ']'");
    }
    if (parts.empty()) error(pos, "empty subscript '[]'");
    if (!slice) return std::move(parts[0]);
    if (parts.size() > 3) error(pos, "a slice has at most three parts");
    auto n = node(NodeKind::Slice, pos);
    parts.resize(3);
    n->a = std::move(parts[0]);
    n->b = std::move(parts[1]);
    n->c = std::move(parts[2]);
    return n;
  }
  NodePtr primary_expr() {
    if (cur_ >= t_.size()) error(src_.size(), "the template ends inside an expression");
    const Token& tok = t_[cur_++];
    switch (tok.type) {
      case Tok::Number: {
        const bool is_float = tok.value.find('.') != std::string::npos;
        auto n = node(is_float ? NodeKind::Float : NodeKind::Integer, tok.pos);
        if (is_float) n->fval = std::stod(tok.value);
        else n->ival = std::stoll(tok.value);
        return n;
      }
      case Tok::String: {
        auto n = node(NodeKind::String, tok.pos);
        n->text = tok.value;
        while (is(Tok::String)) n->text += t_[cur_++].value;  // adjacent literals concatenate
        return n;
      }
      case Tok::Identifier: {
        auto n = node(NodeKind::Identifier, tok.pos);
        n->text = tok.value;
        return n;
      }
      case Tok::OpenParen: {
        auto e = sequence(false);
        expect(Tok::CloseParen, "')'");
        return e;
      }
      case Tok::OpenBracket: {
        auto n = node(NodeKind::ArrayLit, tok.pos);
        while (!is(Tok::CloseBracket)) {
          if (cur_ >= t_.size()) error(tok.pos, "'[' is never closed");
          n->list.push_back(expression());
          if (is(Tok::Comma)) ++cur_;
        }
        ++cur_;
        return n;
      }
      case Tok::OpenBrace: {
        auto n = node(NodeKind::ObjectLit, tok.pos);
        while (!is(Tok::CloseBrace)) {
          if (cur_ >= t_.size()) error(tok.pos, "'{' is never closed");
          n->list.push_back(expression());
          expect(Tok::Colon, "':' between a key and its value");
          n->list.push_back(expression());
          if (is(Tok::Comma)) ++cur_;
        }
        ++cur_;
        return n;
      }
      default: error(tok.pos, fmt::format("unexpected '{}'", tok.value));
    }
  }
};

}  // namespace

std::vector<NodePtr> parse(const std::vector<Token>& tokens, std::string_view source, std::string_view name) {
  return Parser(tokens, source, name).program();
}

}  // namespace edgellm::jinja
