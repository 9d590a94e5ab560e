// The Jinja evaluator: statements render text, expressions compute Values, scoped as @huggingface/jinja scopes
// them (a for loop or macro call opens a scope, an if does not). Not the builtins (builtins.cpp) or the syntax.
#include <unordered_map>

#include "models/jinja/builtins.h"
#include "models/jinja/jinja.h"
#include "models/jinja/parser.h"
#include "runtime/error.h"

namespace edgellm::jinja {
namespace {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
  Value lookup(const std::string& k) const {
    for (const Scope* s = this; s; s = s->parent.get())
      if (auto it = s->vars.find(k); it != s->vars.end()) return it->second;
    return {};
  }
};
using ScopePtr = std::shared_ptr<Scope>;

struct BreakSignal {};
struct ContinueSignal {};

class Interpreter {
 public:
  Interpreter(std::string_view src, std::string_view name) : src_(src), name_(name) {}

  std::string block(const std::vector<NodePtr>& body, const ScopePtr& s) {
    std::string out;
    for (const NodePtr& n : body) {
      switch (n->kind) {
        case NodeKind::Text: out += n->text; break;
        case NodeKind::Comment: break;
        case NodeKind::If: out += block(eval(*n->a, s).truthy() ? n->body : n->alt, s); break;
        case NodeKind::For: out += loop(*n, s); break;
        case NodeKind::Set: assign(*n, s); break;
        case NodeKind::Macro: define_macro(*n, s); break;
        case NodeKind::Break: throw BreakSignal{};
        case NodeKind::Continue: throw ContinueSignal{};
        default: {
          const Value v = eval(*n, s);
          if (v.kind != Kind::None && v.kind != Kind::Undefined) out += v.str();
        }
      }
    }
    return out;
  }

 private:
  std::string_view src_, name_;
  int calls_ = 0;  // macro calls in progress: a template recursing without end is stopped, not the process
  static constexpr int kMaxCalls = 64;

  [[noreturn]] void error(const Node& n, const std::string& what) const {
    throw Error(fmt::format("{}: {}", where(name_, src_, n.pos), what));
  }

  void bind(const Node& target, const Value& v, Scope& s) {
    if (target.kind == NodeKind::Identifier) {
      s.vars[target.text] = v;
      return;
    }
    if (v.kind != Kind::Array) error(target, fmt::format("cannot unpack a {} into several names", v.type_name()));
    if (v.arr->size() != target.list.size())
      error(target, fmt::format("too {} values to unpack ({} names, {} values)", v.arr->size() < target.list.size() ? "few" : "many",
                                target.list.size(), v.arr->size()));
    for (size_t k = 0; k < target.list.size(); ++k) {
      if (target.list[k]->kind != NodeKind::Identifier) error(*target.list[k], "can only unpack into names");
      s.vars[target.list[k]->text] = (*v.arr)[k];
    }
  }

  void assign(const Node& n, const ScopePtr& s) {
    const Value v = eval(*n.b, s);
    if (n.a->kind == NodeKind::Member) {
      const Node& m = *n.a;
      const Value obj = eval(*m.a, s);
      if (obj.kind != Kind::Namespace) error(m, fmt::format("cannot assign an attribute of a {} (only of a namespace())", obj.type_name()));
      if (m.flag || m.b->kind != NodeKind::Identifier) error(m, "a namespace attribute is assigned by name (ns.x = ...)");
      obj.obj->set(m.b->text, v);
      return;
    }
    if (n.a->kind != NodeKind::Identifier && n.a->kind != NodeKind::TupleLit) error(*n.a, "cannot assign to this expression");
    bind(*n.a, v, *s);
  }

  std::string loop(const Node& n, const ScopePtr& outer) {
    auto s = std::make_shared<Scope>();
    s->parent = outer;
    const Node* cond = nullptr;
    Value it;
    if (n.b->kind == NodeKind::Select) {  // for x in xs if cond
      it = eval(*n.b->a, s);
      cond = n.b->b.get();
    } else {
      it = eval(*n.b, s);
    }
    Array items;
    if (it.kind == Kind::Object) {
      for (const auto& kv : it.obj->items) items.push_back(Value::string(kv.first));
    } else if (it.kind == Kind::Array) {
      items = *it.arr;
    } else {
      error(*n.b, fmt::format("cannot loop over a {}", it.type_name()));
    }
    if (cond) {
      Array kept;
      for (const Value& v : items) {
        auto ls = std::make_shared<Scope>();
        ls->parent = s;
        bind(*n.a, v, *ls);
        if (eval(*cond, ls).truthy()) kept.push_back(v);
      }
      items = std::move(kept);
    }
    std::string out;
    bool none = true;
    const auto len = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < len; ++i) {
      Object l;
      l.items = {{"index", Value::integer(i + 1)}, {"index0", Value::integer(i)}, {"revindex", Value::integer(len - i)},
                 {"revindex0", Value::integer(len - i - 1)}, {"first", Value::boolean(i == 0)},
                 {"last", Value::boolean(i == len - 1)}, {"length", Value::integer(len)},
                 {"previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value{}},
                 {"nextitem", i < len - 1 ? items[static_cast<size_t>(i + 1)] : Value{}}};
      s->vars["loop"] = Value::object(std::move(l));
      bind(*n.a, items[static_cast<size_t>(i)], *s);
      try {
        out += block(n.body, s);
      } catch (const ContinueSignal&) {
        continue;
      } catch (const BreakSignal&) {
        break;
      }
      none = false;
    }
    if (none) out += block(n.alt, s);
    return out;
  }

  void define_macro(const Node& n, const ScopePtr& s) {
    const Node* m = &n;
    // Weak: the scope holds the macro, so a strong reference back would be a cycle that is never freed.
    std::weak_ptr<Scope> defined_in = s;
    s->vars[n.text] = Value::function([this, m, defined_in](std::vector<Value>& args, Object& kwargs) {
      ScopePtr closure = defined_in.lock();
      if (!closure) throw Fault{fmt::format("macro '{}' called after the block that defined it ended", m->text)};
      if (calls_ >= kMaxCalls) throw Fault{fmt::format("macro calls nested deeper than {} (recursion?)", kMaxCalls)};
      struct Depth {
        int& d;
        explicit Depth(int& x) : d(++x) {}
        ~Depth() { --d; }
      } depth(calls_);
      auto ms = std::make_shared<Scope>();
      ms->parent = closure;
      if (args.size() > m->list.size()) throw Fault{fmt::format("macro '{}' takes at most {} argument(s)", m->text, m->list.size())};
      std::vector<const Node*> defaults;
      for (size_t k = 0; k < m->list.size(); ++k) {
        const Node& p = *m->list[k];
        const std::string& pname = p.kind == NodeKind::Keyword ? p.text : p.text;
        Value v;
        bool given = k < args.size();
        if (given) v = args[k];
        else if (const Value* kv = kwargs.find(pname)) v = *kv, given = true;
        ms->vars[pname] = v;
        if (!given && p.kind == NodeKind::Keyword) defaults.push_back(&p);
      }
      for (const auto& [key, v] : kwargs.items) {
        bool known = false;
        for (const NodePtr& p : m->list) known |= p->text == key;
        if (!known) throw Fault{fmt::format("macro '{}' takes no keyword argument '{}'", m->text, key)};
      }
      for (const Node* p : defaults) ms->vars[p->text] = eval(*p->a, ms);
      return Value::string(block(m->body, ms));
    });
  }

  void arguments(const std::vector<NodePtr>& list, const ScopePtr& s, std::vector<Value>& args, Object& kwargs) {
    for (const NodePtr& a : list)
      if (a->kind != NodeKind::Keyword) args.push_back(eval(*a, s));
    for (const NodePtr& a : list)
      if (a->kind == NodeKind::Keyword) {
        if (kwargs.find(a->text)) error(*a, fmt::format("keyword argument '{}' given twice", a->text));
        kwargs.items.emplace_back(a->text, eval(*a->a, s));
      }
  }

  static void int_or_undefined(const Value& v, const char* what, const Node& n, const Interpreter& self) {
    if (v.kind != Kind::Int && v.kind != Kind::Undefined) self.error(n, fmt::format("slice {} must be an integer", what));
  }

  Value slice(const Value& x, const Node& n, const ScopePtr& s) {
    const Value a = n.a ? eval(*n.a, s) : Value{}, b = n.b ? eval(*n.b, s) : Value{}, c = n.c ? eval(*n.c, s) : Value{};
    int_or_undefined(a, "start", n, *this);
    int_or_undefined(b, "stop", n, *this);
    int_or_undefined(c, "step", n, *this);
    std::vector<std::string> cps;
    int64_t len;
    if (x.kind == Kind::Array) len = static_cast<int64_t>(x.arr->size());
    else if (x.kind == Kind::String) cps = code_points(x.s), len = static_cast<int64_t>(cps.size());
    else error(n, fmt::format("cannot slice a {}", x.type_name()));
    const int64_t step = c.kind == Kind::Int ? c.i : 1;
    if (step == 0) error(n, "slice step cannot be zero");
    int64_t start, stop;
    if (step > 0) {
      start = a.kind != Kind::Int ? 0 : a.i < 0 ? std::max<int64_t>(len + a.i, 0) : std::min(a.i, len);
      stop = b.kind != Kind::Int ? len : b.i < 0 ? std::max<int64_t>(len + b.i, 0) : std::min(b.i, len);
    } else {
      start = a.kind != Kind::Int ? len - 1 : a.i < 0 ? std::max<int64_t>(len + a.i, -1) : std::min(a.i, len - 1);
      stop = b.kind != Kind::Int ? -1 : b.i < -1 ? std::max<int64_t>(len + b.i, -1) : std::min(b.i, len - 1);
    }
    Array out;
    std::string str;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (x.kind == Kind::Array) out.push_back((*x.arr)[static_cast<size_t>(i)]);
      else str += cps[static_cast<size_t>(i)];
    }
    return x.kind == Kind::Array ? Value::array(std::move(out)) : Value::string(std::move(str));
  }

  Value member(const Node& n, const ScopePtr& s) {
    const Value x = eval(*n.a, s);
    if (n.flag && n.b->kind == NodeKind::Slice) return slice(x, *n.b, s);
    Value p;
    if (n.flag) p = eval(*n.b, s);
    else if (n.b->kind == NodeKind::Integer) p = Value::integer(n.b->ival);
    else p = Value::string(n.b->text);
    if (x.kind == Kind::Object || x.kind == Kind::Namespace) {
      if (p.kind != Kind::String) error(n, fmt::format("a mapping's key must be a string, got a {}", p.type_name()));
      if (const Value* v = x.obj->find(p.s)) return *v;
      return x.kind == Kind::Object ? builtin_member(x, p.s) : Value{};
    }
    if (x.kind == Kind::Array || x.kind == Kind::String) {
      if (p.kind == Kind::Int) {
        if (x.kind == Kind::Array) {
          const auto len = static_cast<int64_t>(x.arr->size());
          const int64_t i = p.i < 0 ? len + p.i : p.i;
          return i >= 0 && i < len ? (*x.arr)[static_cast<size_t>(i)] : Value{};
        }
        const auto cps = code_points(x.s);
        const auto len = static_cast<int64_t>(cps.size());
        const int64_t i = p.i < 0 ? len + p.i : p.i;
        return i >= 0 && i < len ? Value::string(cps[static_cast<size_t>(i)]) : Value{};
      }
      if (p.kind == Kind::String) return builtin_member(x, p.s);
      error(n, fmt::format("cannot index a {} with a {}", x.type_name(), p.type_name()));
    }
    if (p.kind != Kind::String) error(n, fmt::format("cannot index a {} with a {}", x.type_name(), p.type_name()));
    return {};  // an attribute of undefined, none or a number is undefined, as in the reference
  }

  Value binary(const Node& n, const ScopePtr& s) {
    const std::string& op = n.text;
    const Value l = eval(*n.a, s);
    if (op == "and") return l.truthy() ? eval(*n.b, s) : l;
    if (op == "or") return l.truthy() ? l : eval(*n.b, s);
    const Value r = eval(*n.b, s);
    if (op == "==") return Value::boolean(loose_equal(l, r));
    if (op == "!=") return Value::boolean(!loose_equal(l, r));
    if (l.is_numeric() && r.is_numeric() && op != "~" && op != "**") {
      const double a = l.as_double(), b = r.as_double();
      const bool fl = l.kind == Kind::Float || r.kind == Kind::Float;
      auto num = [&](double v) { return fl ? Value::number(v) : Value::integer(static_cast<int64_t>(v)); };
      if (op == "+") return fl ? Value::number(a + b) : Value::integer(l.i + r.i);
      if (op == "-") return fl ? Value::number(a - b) : Value::integer(l.i - r.i);
      if (op == "*") return fl ? Value::number(a * b) : Value::integer(l.i * r.i);
      if (op == "/") return Value::number(a / b);
      if (op == "//") { if (b == 0) error(n, "division by zero"); return num(std::floor(a / b)); }
      if (op == "%") { if (b == 0) error(n, "modulo by zero"); return fl ? Value::number(std::fmod(a, b)) : Value::integer(l.i % r.i); }
      if (op == "<") return Value::boolean(a < b);
      if (op == ">") return Value::boolean(a > b);
      if (op == "<=") return Value::boolean(a <= b);
      if (op == ">=") return Value::boolean(a >= b);
    } else if (l.is_undefined() || r.is_undefined()) {
      if (r.is_undefined() && (op == "in" || op == "not in")) return Value::boolean(op == "not in");
      if (op == "~" && l.kind != Kind::None && r.kind != Kind::None) return Value::string(l.primitive_str() + r.primitive_str());
      error(n, fmt::format("'{}' of an undefined value ({} {} {})", op, l.type_name(), op, r.type_name()));
    } else if (l.kind == Kind::None || r.kind == Kind::None) {
      error(n, fmt::format("'{}' of a none value ({} {} {})", op, l.type_name(), op, r.type_name()));
    } else if (op == "~") {
      return Value::string(l.primitive_str() + r.primitive_str());
    } else if (op == "**") {
      error(n, "unsupported construct: '**' (power)");
    } else if (l.kind == Kind::Array && r.kind == Kind::Array) {
      if (op == "+") {
        Array a = *l.arr;
        a.insert(a.end(), r.arr->begin(), r.arr->end());
        return Value::array(std::move(a));
      }
    } else if (r.kind == Kind::Array) {
      const bool found = std::any_of(r.arr->begin(), r.arr->end(), [&](const Value& v) { return strict_equal(v, l); });
      if (op == "in") return Value::boolean(found);
      if (op == "not in") return Value::boolean(!found);
    }
    if ((l.kind == Kind::String || r.kind == Kind::String) && op == "+") return Value::string(l.primitive_str() + r.primitive_str());
    if (l.kind == Kind::String && r.kind == Kind::String && (op == "in" || op == "not in"))
      return Value::boolean((r.s.find(l.s) != std::string::npos) == (op == "in"));
    if (l.kind == Kind::String && r.kind == Kind::Object && (op == "in" || op == "not in"))
      return Value::boolean((r.obj->find(l.s) != nullptr) == (op == "in"));
    error(n, fmt::format("unsupported operator '{}' between a {} and a {}", op, l.type_name(), r.type_name()));
  }

  Value eval(const Node& n, const ScopePtr& s) {
    try {
      return eval_node(n, s);
    } catch (const Fault& f) {
      error(n, f.message);
    }
  }

  Value eval_node(const Node& n, const ScopePtr& s) {
    switch (n.kind) {
      case NodeKind::Identifier: return s->lookup(n.text);
      case NodeKind::Integer: return Value::integer(n.ival);
      case NodeKind::Float: return Value::number(n.fval);
      case NodeKind::String: return Value::string(n.text);
      case NodeKind::ArrayLit: case NodeKind::TupleLit: {
        Array a;
        for (const NodePtr& x : n.list) a.push_back(eval(*x, s));
        return Value::array(std::move(a));
      }
      case NodeKind::ObjectLit: {
        Object o;
        for (size_t k = 0; k + 1 < n.list.size(); k += 2) {
          const Value key = eval(*n.list[k], s);
          if (key.kind != Kind::String) error(*n.list[k], fmt::format("a mapping key must be a string, got a {}", key.type_name()));
          o.set(key.s, eval(*n.list[k + 1], s));
        }
        return Value::object(std::move(o));
      }
      case NodeKind::Member: return member(n, s);
      case NodeKind::Call: {
        std::vector<Value> args;
        Object kwargs;
        arguments(n.list, s, args, kwargs);
        const Value f = eval(*n.a, s);
        if (f.kind != Kind::Function) {
          const std::string what = n.a->kind == NodeKind::Identifier ? "'" + n.a->text + "'"
                                   : n.a->kind == NodeKind::Member && !n.a->flag ? "method '" + n.a->b->text + "'" : "this";
          error(n, fmt::format("unsupported call: {} is not a function here (a {})", what, f.type_name()));
        }
        return (*f.fn)(args, kwargs);
      }
      case NodeKind::Filter: {
        const Value x = eval(*n.a, s);
        std::vector<Value> args;
        Object kwargs;
        arguments(n.list, s, args, kwargs);
        return apply_filter(n.text, x, args, kwargs, n.flag);
      }
      case NodeKind::Test: return Value::boolean(apply_test(n.text, eval(*n.a, s)) != n.flag);
      case NodeKind::Unary: {
        const Value x = eval(*n.a, s);
        if (n.text == "not") return Value::boolean(!x.truthy());
        const int sign = n.text == "-" ? -1 : 1;
        if (x.kind == Kind::Float) return Value::number(sign * x.f);
        if (x.kind == Kind::Int || x.kind == Kind::Bool) return Value::integer(sign * static_cast<int64_t>(x.as_double()));
        error(n, fmt::format("unary '{}' of a {}", n.text, x.type_name()));
      }
      case NodeKind::Binary: return binary(n, s);
      case NodeKind::Ternary: return eval(*n.a, s).truthy() ? eval(*n.b, s) : eval(*n.c, s);
      case NodeKind::Select: return eval(*n.b, s).truthy() ? eval(*n.a, s) : Value{};
      case NodeKind::Keyword: error(n, "a keyword argument outside a call");
      case NodeKind::Slice: error(n, "a slice outside '[...]'");
      default: error(n, "a statement where an expression was expected");
    }
  }
};

// Namespaces are the only mutable values, so every reference cycle (`ns.self = ns`) runs through one; the
// render clears them all at its end, which frees any cycle.
thread_local std::vector<std::weak_ptr<Object>>* g_namespaces = nullptr;

Value namespace_fn(std::vector<Value>& args, Object& kwargs) {
  Object o;
  if (args.size() > 1) throw Fault{"namespace() takes at most one positional argument"};
  if (!args.empty()) {
    if (args[0].kind != Kind::Object) throw Fault{fmt::format("namespace() of a {}", args[0].type_name())};
    o = *args[0].obj;
  }
  for (const auto& [k, v] : kwargs.items) o.set(k, v);
  Value ns = Value::object(std::move(o), Kind::Namespace);
  if (g_namespaces) g_namespaces->push_back(ns.obj);
  return ns;
}

Value range_fn(std::vector<Value>& args, Object&) {
  for (const Value& a : args)
    if (a.kind != Kind::Int) throw Fault{"range() takes integers"};
  if (args.empty() || args.size() > 3) throw Fault{"range() takes one to three integers"};
  const int64_t start = args.size() == 1 ? 0 : args[0].i, stop = args.size() == 1 ? args[0].i : args[1].i;
  const int64_t step = args.size() == 3 ? args[2].i : 1;
  if (step == 0) throw Fault{"range() step must not be zero"};
  Array a;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) a.push_back(Value::integer(i));
  return Value::array(std::move(a));
}

}  // namespace

Template::Template(std::string source, std::string name) : source_(std::move(source)), name_(std::move(name)) {
  program_ = std::make_shared<const std::vector<NodePtr>>(parse(tokenize(source_, name_), source_, name_));
}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const nlohmann::ordered_json& context) const {
  auto s = std::make_shared<Scope>();
  s->vars["true"] = s->vars["True"] = Value::boolean(true);
  s->vars["false"] = s->vars["False"] = Value::boolean(false);
  s->vars["none"] = s->vars["None"] = Value::none();
  s->vars["namespace"] = Value::function(namespace_fn);
  s->vars["range"] = Value::function(range_fn);
  s->vars["raise_exception"] = Value::function([](std::vector<Value>& args, Object&) -> Value {
    throw Fault{"raise_exception: " + (args.empty() ? std::string() : args[0].primitive_str())};
  });
  if (!context.is_object()) fail("{}: the render context must be a JSON object", name_);
  for (const auto& [k, v] : context.items()) s->vars[k] = from_json(v);
  Interpreter in(source_, name_);
  std::vector<std::weak_ptr<Object>> namespaces;
  struct Clear {
    std::vector<std::weak_ptr<Object>>& ns;
    std::vector<std::weak_ptr<Object>>* saved = g_namespaces;
    ~Clear() {
      for (auto& w : ns)
        if (auto o = w.lock()) o->items.clear();
      g_namespaces = saved;
    }
  } clear{namespaces};
  g_namespaces = &namespaces;
  try {
    return in.block(*program_, s);
  } catch (const BreakSignal&) {
    fail("{}: '{{% break %}}' outside a for loop", name_);
  } catch (const ContinueSignal&) {
    fail("{}: '{{% continue %}}' outside a for loop", name_);
  }
}

}  // namespace edgellm::jinja
