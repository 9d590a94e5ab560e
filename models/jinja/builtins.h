// What the evaluator calls by name: filters (`x | trim`), tests (`x is string`), string/mapping methods
// (`s.startswith(...)`, `d.items()`) and equality, each as @huggingface/jinja defines it. Internal to models/jinja.
// Not the evaluator: these know values, not syntax; the caller adds the template position to a Fault.
#pragma once

#include <string>
#include <vector>

#include "models/jinja/value.h"

namespace edgellm::jinja {

// A failure inside a builtin; the evaluator turns it into Error("name:line:col: message").
struct Fault {
  std::string message;
};

// `x | name` (called=false) or `x | name(args...)`. Throws Fault for an unknown filter or bad operand.
Value apply_filter(const std::string& name, const Value& x, std::vector<Value>& args, Object& kwargs, bool called);
// `x is name`; throws Fault for an unknown test.
bool apply_test(const std::string& name, const Value& x);
// A string's or mapping's method or property (`s.strip`, `s.length`, `d.items`); undefined when there is none.
Value builtin_member(const Value& x, const std::string& name);
// JS's == on the values (1 == 1.0, null == undefined, lists and mappings by identity) and === (no coercion).
bool loose_equal(const Value& a, const Value& b);
bool strict_equal(const Value& a, const Value& b);

}  // namespace edgellm::jinja
