// Helpers of the lowering tests: lower an example (or an edited copy of one) and look at the
// kernel IR.
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "lowering/pipeline.h"
#include "test_util.h"

namespace grove::test {

inline std::string read_example(const std::string& name) {
  return read_text(example(name));
}

// `path`: the file the text is read as (what it imports lies beside it).
inline lower::Lowered lower_text(const std::string& text, std::map<std::string, int64_t> sizes = {},
                                 const std::string& mapping = "", const std::string& path = "") {
  auto c = path.empty() ? compile_text(text) : compile_text(text, path);
  EXPECT_EQ(c->errors, "");
  lower::LowerOptions o;
  o.sizes = std::move(sizes);
  // The program must outlive the kernels (compute ops point into it).
  static std::vector<std::unique_ptr<Compiled>> keep;
  keep.push_back(std::move(c));
  const Program& p = keep.back()->prog;
  return lower::lower_mapping(p, mapping.empty() ? p.mappings.front() : *p.find_mapping(mapping),
                              o);
}

// The message of the error lowering `text` raises; empty when it lowers.
inline std::string lowering_error(const std::string& text,
                                  std::map<std::string, int64_t> sizes = {},
                                  const std::string& mapping = "", const std::string& path = "") {
  try {
    lower_text(text, std::move(sizes), mapping, path);
  } catch (const GroveError& e) {
    return e.what();
  }
  return "";
}

// The first loop over `var` in `b`, at any depth; null if none.
inline const kir::Op* find_loop(const kir::Body& b, const std::string& var) {
  for (const kir::Op& op : b) {
    if (op.kind == kir::Op::Loop && op.var == var) return &op;
    if (const kir::Op* in = find_loop(op.body, var)) return in;
  }
  return nullptr;
}

inline int count_ops(const kir::Body& b, kir::Op::Kind k) {
  int n = 0;
  for (const kir::Op& op : b) n += (op.kind == k) + count_ops(op.body, k);
  return n;
}

inline std::string replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// examples/attention_fp8.grove with P in shared memory (`memory P = SHARED`) instead of the
// registers its mappings give it.
inline std::string fp8_attention_with_shared_p() {
  return replace(read_example("attention_fp8.grove"), "P = REGISTER;", "P = SHARED;");
}

// `from` replaced by `to` in mapping `mapping` of `text` (the first occurrence after its header).
inline std::string replace_in_mapping(const std::string& text, const std::string& mapping,
                                      const std::string& from, const std::string& to) {
  const size_t at = text.find("mapping " + mapping + " ");
  EXPECT_NE(at, std::string::npos) << mapping;
  if (at == std::string::npos) return text;
  return text.substr(0, at) + replace(text.substr(at), from, to);
}

} // namespace grove::test
