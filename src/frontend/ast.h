// The syntax tree of a Grove file: tasks, variants and mappings, as written.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support/diagnostics.h"
#include "support/numeric.h"

namespace grove {

enum class Privilege { Read, Write, ReadWrite };
enum class Level { Host, Block, Warpgroup, Warp, Thread };
enum class Memory { Global, Shared, Register, None };

const char* privilege_name(Privilege p);
const char* level_name(Level l);
const char* memory_name(Memory m);
bool can_read(Privilege p);
bool can_write(Privilege p);

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum Kind {
    Int,    // ival
    Float,  // fval
    Inf,    // the literal `inf`
    Name,   // name
    Call,   // name(args...)
    Index,  // args[0][args[1], ...]
    Reduce, // name[var](args[0]) with name "sum" or "max"
    Unary,  // op args[0]   (op "-" or "!")
    Binary, // args[0] op args[1]
  };
  Kind kind;
  SourceLoc loc;
  int64_t ival = 0;
  double fval = 0;
  std::string name; // Name, Call callee, Reduce operator
  std::string var;  // Reduce index variable
  std::string op;   // Unary, Binary
  std::vector<ExprPtr> args;
};

struct TypeRef {
  SourceLoc loc;
  bool is_tensor = false;
  ElemType elem = ElemType::F32;
  std::vector<ExprPtr>
      dims;           // tensor shape: names or integer literals (params), expressions (locals)
  bool is_int = true; // scalar kind when !is_tensor: int or float
};

struct Param {
  std::string name;
  SourceLoc loc;
  Privilege priv = Privilege::Read; // tensors only
  TypeRef type;
  ExprPtr default_value; // scalars only, optional
};

struct TaskDecl {
  std::string name;
  SourceLoc loc;
  std::vector<Param> params;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;

struct Stmt {
  enum Kind {
    Tunable, // tunable names...;
    Local,   // local names[0]: type;
    Let,     // let names[0] = value;
    Launch,  // launch callee(args...);
    For,     // for names... in srange|prange(args...) { body }
    Mma,     // mma(args[0], args[1], args[2]);  operands may be trans(X)
    Assign,  // target[indices...] = value;
  };
  Kind kind;
  SourceLoc loc;
  std::vector<std::string> names;
  std::vector<SourceLoc> name_locs;
  TypeRef type;
  ExprPtr value;
  std::string callee;
  SourceLoc callee_loc;
  std::vector<ExprPtr> args;
  bool parallel = false; // For: prange
  std::vector<StmtPtr> body;
  std::string target; // Assign
  std::vector<std::string> indices;
  std::vector<SourceLoc> index_locs;
};

struct VariantDecl {
  std::string task;
  std::string name;
  SourceLoc loc;      // of the task name
  SourceLoc name_loc; // of the variant name
  bool leaf = false;
  bool reference = false;
  std::vector<StmtPtr> body;
};

template <class T> struct Located {
  T value;
  SourceLoc loc;
};

struct Instance {
  std::string name;
  SourceLoc loc;
  // `instance NAME { ... }` in a mapping that extends another: changes only the settings it
  // names in the base's instance NAME (mapping_bases.cpp); none is left after parsing.
  bool amends = false;
  std::string task, variant;
  SourceLoc variant_loc;
  Level level = Level::Host;
  SourceLoc level_loc;
  std::vector<std::pair<Located<std::string>, Located<int64_t>>> tunables;
  std::vector<std::pair<Located<std::string>, Located<Memory>>> memories;
  std::vector<std::pair<Located<std::string>, Located<std::string>>> calls; // task -> instance
  // Block options (only meaningful on BLOCK instances).
  std::optional<Located<bool>> warp_specialize;
  std::optional<Located<int>> pipeline; // 0 means `auto`
  std::optional<Located<int64_t>> smem_bytes;
  std::optional<Located<bool>> persistent;
  std::optional<Located<bool>> pingpong; // unset: decided by the scheduler under pipeline = auto
  std::optional<Located<bool>> overlap;  // unset: wherever the loop has the shape (overlap.cpp)
  std::optional<Located<std::pair<int, int>>> cluster;
  std::optional<Located<int64_t>> tile_band; // rows of tiles per band (persistent.cpp); default 8
  std::optional<Located<bool>> last_tiles_first; // an ordinary grid's blocks in reverse order
};

// The block options by name, as pointers to Instance's members: the one list that extending
// mappings, the level check and `grove explain` walk (the parser reads each in its own way).
inline constexpr auto kBlockOptions = std::make_tuple(
    std::pair{"warp_specialize", &Instance::warp_specialize},
    std::pair{"pipeline", &Instance::pipeline}, std::pair{"pingpong", &Instance::pingpong},
    std::pair{"overlap", &Instance::overlap}, std::pair{"smem_bytes", &Instance::smem_bytes},
    std::pair{"persistent", &Instance::persistent}, std::pair{"cluster", &Instance::cluster},
    std::pair{"tile_band", &Instance::tile_band},
    std::pair{"last_tiles_first", &Instance::last_tiles_first});

// Calls f(name, member) for each block option, in kBlockOptions' order.
template <class F> void for_each_block_option(F&& f) {
  std::apply([&](const auto&... option) { (f(option.first, option.second), ...); }, kBlockOptions);
}

struct MappingDecl {
  std::string name;
  SourceLoc loc;
  std::vector<Instance> instances;
  std::optional<Located<std::string>> entry;
  // `mapping NAME extends BASE`: after parsing, the instances and entry include BASE's.
  std::optional<Located<std::string>> base;
};

// The element types a loader sets a program's type parameters to (`--type T=bf16`), by name.
using TypeArgs = std::map<std::string, ElemType>;

struct Program {
  std::vector<TaskDecl> tasks;
  std::vector<VariantDecl> variants;
  std::vector<MappingDecl> mappings;
  // Type parameters (`type T = f16;`) of every file, and the element type each stands for. Each
  // file's are its own; a type argument sets every file's parameter of that name.
  std::map<std::string, ElemType> type_params;

  const TaskDecl* find_task(const std::string& name) const;
  const VariantDecl* find_variant(const std::string& task, const std::string& name) const;
  const MappingDecl* find_mapping(const std::string& name) const;
};

} // namespace grove

namespace grove {
// Source-like text of an expression, for explanations and messages.
std::string expr_str(const Expr& e);
// Whether `e` names `name` anywhere (a tensor it indexes, an operand, a scalar).
bool mentions_name(const Expr& e, const std::string& name);
// The value of an expression made only of number literals, unary minus and + - * /; nullopt
// otherwise (used for scalar parameters' default values).
std::optional<double> constant_value(const Expr& e);
} // namespace grove
