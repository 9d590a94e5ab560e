// Errors and size parsing: parse_bytes (the --mem-budget argument), format_bytes, FormatError, fail.
// Not the arena's budget errors: test_arena.cpp checks BudgetError's message.
#include <doctest/doctest.h>

#include <string>

#include "runtime/error.h"

using namespace edgellm;

TEST_CASE("parse_bytes reads plain numbers and K/M/G/T units, binary multiples") {
  CHECK(parse_bytes("123") == 123);
  CHECK(parse_bytes("0") == 0);
  CHECK(parse_bytes("64K") == 64 * 1024);
  CHECK(parse_bytes("512M") == 512ull << 20);
  CHECK(parse_bytes("512m") == 512ull << 20);
  CHECK(parse_bytes("2G") == 2ull << 30);
  CHECK(parse_bytes("2GB") == 2ull << 30);
  CHECK(parse_bytes("1.5GiB") == 3ull << 29);
  CHECK(parse_bytes("1T") == 1ull << 40);
  CHECK(parse_bytes("100B") == 100);
}

TEST_CASE("parse_bytes raises Error on junk, naming the text") {
  for (const char* junk : {"", "abc", "12Q", "-1", "-5M", "nan", "inf", "5 M", "M", "1e30G", "2GG"}) {
    const std::string text = junk;
    CAPTURE(text);
    CHECK_THROWS_AS(parse_bytes(junk), Error);
  }
  CHECK_THROWS_WITH(parse_bytes("12Q"), doctest::Contains("'12Q'"));
}

TEST_CASE("format_bytes, fail, EDGE_CHECK and FormatError") {
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(1536) == "1.50 KiB");
  CHECK(format_bytes(3ull << 30) == "3.00 GiB");
  CHECK_THROWS_WITH(fail("tensor {} has {} dims", "blk.0.attn_q", 3), "tensor blk.0.attn_q has 3 dims");
  CHECK_THROWS_AS([] { EDGE_CHECK(1 + 1 == 3, "arithmetic is {}", "broken"); }(), Error);
  CHECK_NOTHROW([] { EDGE_CHECK(1 + 1 == 2, "fine"); }());
  try {
    fail_format("model.gguf", "tensor_count", "{} is more than the file can hold", 99);
    FAIL("fail_format did not throw");
  } catch (const FormatError& e) {
    CHECK(std::string(e.what()) == "model.gguf: tensor_count: 99 is more than the file can hold");
    CHECK(e.file() == "model.gguf");
    CHECK(e.field() == "tensor_count");
  }
  // Both special errors are Errors, so one catch (Error&) in the CLI sees them all.
  CHECK_THROWS_AS(throw FormatError("f", "g", "h"), Error);
  CHECK_THROWS_AS(throw BudgetError("over"), Error);
}
