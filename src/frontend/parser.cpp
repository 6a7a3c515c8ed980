#include "frontend/parser.h"

#include <filesystem>
#include <set>
#include <type_traits>

#include "frontend/lexer.h"
#include "frontend/mapping_bases.h"

namespace grove {
namespace {

struct ParseError {}; // unwinds to the item loop after the diagnostic is recorded

constexpr int kMaxDepth = 200; // nesting bound, so hostile input cannot overflow the stack

// The boolean block option called `name` (one of kBlockOptions) of `in`; null for any other name.
std::optional<Located<bool>>* bool_option(Instance& in, const std::string& name) {
  std::optional<Located<bool>>* found = nullptr;
  for_each_block_option([&](const char* option, auto member) {
    if constexpr (std::is_same_v<decltype(member), std::optional<Located<bool>> Instance::*>)
      if (name == option) found = &(in.*member);
  });
  return found;
}

class Parser {
public:
  Parser(std::vector<Token> toks, Diagnostics& d, const TypeArgs& type_args)
      : t_(std::move(toks)), diags_(d), type_args_(type_args) {}

  void parse_program(Program& prog, std::vector<std::pair<std::string, SourceLoc>>& imports) {
    while (!at_end()) {
      try {
        if (is("import")) {
          SourceLoc loc = next().loc;
          if (peek().kind != Tok::String)
            fail(peek().loc, "expected a file name in quotes after 'import'",
                 "write: import \"gemm.grove\";");
          std::string path = next().text;
          expect(";");
          imports.push_back({path, loc});
        } else if (is("type")) {
          parse_type_param(prog);
        } else if (is("task")) {
          prog.tasks.push_back(parse_task());
        } else if (is("variant")) {
          prog.variants.push_back(parse_variant());
        } else if (is("mapping")) {
          prog.mappings.push_back(parse_mapping());
        } else {
          fail(peek().loc,
               "expected 'task', 'variant', 'mapping', 'type' or 'import', found " +
                   describe(peek()),
               "a Grove file is a list of task declarations, variants and mappings");
        }
      } catch (const ParseError&) {
        synchronize();
      }
    }
  }

private:
  std::vector<Token> t_;
  size_t p_ = 0;
  Diagnostics& diags_;
  int depth_ = 0;
  const TypeArgs& type_args_;
  std::map<std::string, ElemType> types_; // this file's type parameters, as set

  const Token& peek(size_t k = 0) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  bool at_end() const { return peek().kind == Tok::End; }
  const Token& next() {
    const Token& t = peek();
    if (!at_end()) ++p_;
    return t;
  }
  bool is(const char* text, size_t k = 0) const {
    const Token& t = peek(k);
    return (t.kind == Tok::Ident || t.kind == Tok::Punct) && t.text == text;
  }
  bool accept(const char* text) {
    if (!is(text)) return false;
    next();
    return true;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
    case Tok::End:
      return "end of file";
    case Tok::String:
      return "string \"" + t.text + "\"";
    default:
      return "'" + t.text + "'";
    }
  }
  [[noreturn]] void fail(SourceLoc loc, const std::string& msg, const std::string& hint = {}) {
    // A line that already has an error (a stray character, an unterminated string) usually
    // confuses the parser too: report only the first error of each line.
    bool repeat = false;
    for (const Diagnostic& d : diags_.errors())
      if (d.loc.file == loc.file && d.loc.line == loc.line) repeat = true;
    if (!repeat) diags_.error(loc, msg, hint);
    throw ParseError{};
  }
  const Token& expect(const char* text, const char* hint = "") {
    if (!is(text)) {
      // A token missing at the end of a line (typically ';') is reported just after the token
      // before it, where it belongs, rather than at the start of the next line.
      if (p_ > 0 && peek().loc.line > t_[p_ - 1].loc.line) {
        const Token& prev = t_[p_ - 1];
        SourceLoc after = prev.loc;
        after.col += static_cast<int>(prev.text.size()) + (prev.kind == Tok::String ? 2 : 0);
        fail(after, std::string("expected '") + text + "' after " + describe(prev), hint);
      }
      fail(peek().loc, std::string("expected '") + text + "', found " + describe(peek()), hint);
    }
    return next();
  }
  const Token& expect_ident(const char* what) {
    if (peek().kind != Tok::Ident)
      fail(peek().loc, std::string("expected ") + what + ", found " + describe(peek()));
    return next();
  }
  // Skip to the next top-level item: a keyword at brace depth zero.
  void synchronize() {
    int braces = 0;
    while (!at_end()) {
      const Token& t = peek();
      if (braces <= 0 && t.kind == Tok::Ident &&
          (t.text == "task" || t.text == "variant" || t.text == "mapping" || t.text == "import" ||
           t.text == "type"))
        return;
      if (t.kind == Tok::Punct && t.text == "{") ++braces;
      if (t.kind == Tok::Punct && t.text == "}") --braces;
      next();
    }
  }
  struct DepthGuard {
    Parser& p;
    int n = 0;
    explicit DepthGuard(Parser& pp, bool enter = true) : p(pp) {
      if (enter) step();
    }
    // One more level: a nested block or expression, or one more operator of a chain such as
    // a + b + c, whose tree grows one level per operator.
    void step() {
      if (p.depth_ >= kMaxDepth)
        p.fail(p.peek().loc, "nesting is too deep", "split the expression or loop nest");
      ++p.depth_;
      ++n;
    }
    ~DepthGuard() { p.depth_ -= n; }
  };

  // ---- types and declarations ----
  // An element type by name: a built-in one or a type parameter of this file declared above.
  std::optional<ElemType> elem_type(const std::string& s) {
    if (auto t = elem_from_name(s)) return t;
    if (auto it = types_.find(s); it != types_.end()) return it->second;
    return std::nullopt;
  }

  // `type T = f16;`: a type parameter, a name for an element type that the loader may set to
  // another (`--type T=bf16`), so one program (and its mappings) serves several types.
  void parse_type_param(Program& prog) {
    next(); // type
    const Token& name = expect_ident("a type parameter name");
    if (elem_from_name(name.text) || name.text == "int" || name.text == "float")
      fail(name.loc, "'" + name.text + "' is already a type",
           "name the type parameter something else, e.g. T");
    if (types_.count(name.text))
      fail(name.loc, "type parameter '" + name.text + "' is declared twice in this file",
           "remove one");
    expect("=", "a type parameter names its default element type: type T = f16;");
    const Token& value = expect_ident("an element type (f16, bf16, f32, e4m3 or e5m2)");
    auto t = elem_type(value.text);
    if (!t) {
      types_[name.text] = ElemType::F32; // known from here on: no second error at each use
      fail(value.loc, "unknown element type '" + value.text + "'",
           "a type parameter stands for f16, bf16, f32, e4m3 or e5m2");
    }
    expect(";");
    if (auto it = type_args_.find(name.text); it != type_args_.end()) t = it->second;
    types_[name.text] = *t;
    prog.type_params[name.text] = *t;
  }

  TypeRef parse_type(bool allow_scalar) {
    TypeRef ty;
    const Token& name = expect_ident("a type (f16, bf16, f32, int or float)");
    ty.loc = name.loc;
    if (allow_scalar && (name.text == "int" || name.text == "float")) {
      ty.is_tensor = false;
      ty.is_int = name.text == "int";
      return ty;
    }
    auto e = elem_type(name.text);
    if (!e) {
      std::string hint = "tensor element types are f16, bf16, f32, e4m3, e5m2 or a type "
                         "parameter declared above it (type T = f16;)";
      fail(name.loc, "unknown type '" + name.text + "'",
           allow_scalar ? hint + "; scalars are int or float" : hint);
    }
    ty.is_tensor = true;
    ty.elem = *e;
    expect("[", "a tensor type lists its shape in brackets, e.g. f16[M, K]");
    do {
      ty.dims.push_back(parse_expr());
    } while (accept(","));
    expect("]");
    return ty;
  }

  TaskDecl parse_task() {
    next(); // task
    TaskDecl task;
    const Token& name = expect_ident("a task name");
    task.name = name.text;
    task.loc = name.loc;
    expect("(");
    if (!is(")")) {
      do {
        Param p;
        const Token& pn = expect_ident("a parameter name");
        p.name = pn.text;
        p.loc = pn.loc;
        expect(":", "a parameter is written name: [privilege] type, e.g. A: read f16[M, K]");
        bool has_priv = false;
        if (is("read") || is("write") || is("readwrite")) {
          const std::string& pr = next().text;
          p.priv = pr == "read"    ? Privilege::Read
                   : pr == "write" ? Privilege::Write
                                   : Privilege::ReadWrite;
          has_priv = true;
        }
        p.type = parse_type(true);
        if (p.type.is_tensor && !has_priv) {
          std::string shape;
          for (const ExprPtr& d : p.type.dims) shape += (shape.empty() ? "" : ", ") + expr_str(*d);
          fail(p.type.loc, "tensor parameter '" + p.name + "' has no privilege",
               "write read, write or readwrite before the type, e.g. " + p.name + ": read " +
                   elem_name(p.type.elem) + "[" + shape + "]");
        }
        if (!p.type.is_tensor && has_priv)
          fail(p.loc, "scalar parameter '" + p.name + "' cannot have a privilege",
               "privileges apply to tensors; scalars are always read");
        if (accept("=")) {
          if (p.type.is_tensor) fail(peek().loc, "tensor parameters cannot have default values");
          p.default_value = parse_expr();
        }
        task.params.push_back(std::move(p));
      } while (accept(","));
    }
    expect(")");
    expect(";", "a task declaration ends with ';'; its bodies are written as variants");
    return task;
  }

  VariantDecl parse_variant() {
    next(); // variant
    VariantDecl v;
    const Token& task = expect_ident("a task name");
    v.task = task.text;
    v.loc = task.loc;
    expect(".", "a variant is named task.variant, e.g. variant gemm.tiled inner { ... }");
    const Token& name = expect_ident("a variant name");
    v.name = name.text;
    v.name_loc = name.loc;
    if (accept("leaf")) {
      v.leaf = true;
    } else if (!accept("inner")) {
      fail(peek().loc,
           "expected 'inner' or 'leaf' after the variant name, found " + describe(peek()),
           "inner variants launch subtasks; leaf variants compute");
    }
    if (accept("reference")) v.reference = true;
    v.body = parse_block();
    return v;
  }

  std::vector<StmtPtr> parse_block() {
    DepthGuard g(*this);
    expect("{");
    std::vector<StmtPtr> body;
    while (!is("}")) {
      if (at_end()) fail(peek().loc, "expected '}' before end of file");
      body.push_back(parse_stmt());
    }
    next();
    return body;
  }

  StmtPtr parse_stmt() {
    auto s = std::make_unique<Stmt>();
    s->loc = peek().loc;
    if (accept("tunable")) {
      s->kind = Stmt::Tunable;
      do {
        const Token& n = expect_ident("a tunable name");
        s->names.push_back(n.text);
        s->name_locs.push_back(n.loc);
      } while (accept(","));
      expect(";");
    } else if (accept("local")) {
      s->kind = Stmt::Local;
      const Token& n = expect_ident("a local tensor name");
      s->names.push_back(n.text);
      s->name_locs.push_back(n.loc);
      expect(":", "a local tensor is declared as: local acc: f32[BM, BN];");
      s->type = parse_type(false);
      expect(";");
    } else if (accept("let")) {
      s->kind = Stmt::Let;
      const Token& n = expect_ident("a name");
      s->names.push_back(n.text);
      s->name_locs.push_back(n.loc);
      expect("=");
      s->value = parse_expr();
      expect(";");
    } else if (accept("launch")) {
      s->kind = Stmt::Launch;
      const Token& n = expect_ident("a task name");
      s->callee = n.text;
      s->callee_loc = n.loc;
      s->args = parse_args("(", ")");
      expect(";");
    } else if (accept("for")) {
      s->kind = Stmt::For;
      bool paren = accept("(");
      do {
        const Token& n = expect_ident("a loop variable");
        s->names.push_back(n.text);
        s->name_locs.push_back(n.loc);
      } while (accept(","));
      if (paren) expect(")");
      expect("in");
      if (accept("prange")) {
        s->parallel = true;
      } else if (!accept("srange")) {
        fail(peek().loc, "expected 'srange' or 'prange' after 'in', found " + describe(peek()),
             "sequential loops use srange(n), parallel loops prange(n) or prange(n0, n1)");
      }
      s->args = parse_args("(", ")");
      s->body = parse_block();
    } else if (is("mma") && is("(", 1)) {
      next();
      s->kind = Stmt::Mma;
      s->args = parse_args("(", ")");
      expect(";");
    } else if (peek().kind == Tok::Ident && is("[", 1)) {
      s->kind = Stmt::Assign;
      s->target = next().text;
      next(); // [
      do {
        const Token& n = expect_ident("an index variable");
        s->indices.push_back(n.text);
        s->index_locs.push_back(n.loc);
      } while (accept(","));
      expect("]");
      expect("=", "an element-wise statement is written T[i, j] = expression;");
      s->value = parse_expr();
      expect(";");
    } else {
      fail(peek().loc, "expected a statement, found " + describe(peek()),
           "statements are tunable, local, let, launch, for, mma, or T[i, j] = expression");
    }
    return s;
  }

  std::vector<ExprPtr> parse_args(const char* open, const char* close) {
    expect(open);
    std::vector<ExprPtr> args;
    if (!is(close)) {
      do {
        args.push_back(parse_expr());
      } while (accept(","));
    }
    expect(close);
    return args;
  }

  // ---- expressions, by precedence ----
  ExprPtr make(Expr::Kind k, SourceLoc loc) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->loc = loc;
    return e;
  }
  ExprPtr binary(std::string op, ExprPtr a, ExprPtr b, SourceLoc loc) {
    auto e = make(Expr::Binary, loc);
    e->op = std::move(op);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }
  ExprPtr parse_expr() {
    DepthGuard g(*this);
    return parse_or();
  }
  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    DepthGuard g(*this, false);
    while (is("||")) {
      g.step();
      SourceLoc loc = next().loc;
      e = binary("||", std::move(e), parse_and(), loc);
    }
    return e;
  }
  ExprPtr parse_and() {
    ExprPtr e = parse_cmp();
    DepthGuard g(*this, false);
    while (is("&&")) {
      g.step();
      SourceLoc loc = next().loc;
      e = binary("&&", std::move(e), parse_cmp(), loc);
    }
    return e;
  }
  ExprPtr parse_cmp() {
    ExprPtr e = parse_add();
    for (const char* op : {"<", "<=", ">", ">=", "==", "!="}) {
      if (is(op)) {
        SourceLoc loc = next().loc;
        return binary(op, std::move(e), parse_add(), loc);
      }
    }
    return e;
  }
  ExprPtr parse_add() {
    ExprPtr e = parse_mul();
    DepthGuard g(*this, false);
    while (is("+") || is("-")) {
      g.step();
      const Token& t = next();
      e = binary(t.text, std::move(e), parse_mul(), t.loc);
    }
    return e;
  }
  ExprPtr parse_mul() {
    ExprPtr e = parse_unary();
    DepthGuard g(*this, false);
    while (is("*") || is("/") || is("%")) {
      g.step();
      const Token& t = next();
      e = binary(t.text, std::move(e), parse_unary(), t.loc);
    }
    return e;
  }
  ExprPtr parse_unary() {
    if (is("-") || is("!")) {
      DepthGuard g(*this);
      const Token& t = next();
      auto e = make(Expr::Unary, t.loc);
      e->op = t.text;
      e->args.push_back(parse_unary());
      return e;
    }
    return parse_postfix();
  }
  ExprPtr parse_postfix() {
    ExprPtr e = parse_primary();
    DepthGuard g(*this, false);
    while (is("[")) {
      g.step();
      SourceLoc loc = peek().loc;
      auto idx = make(Expr::Index, loc);
      idx->args.push_back(std::move(e));
      for (ExprPtr& a : parse_args("[", "]")) idx->args.push_back(std::move(a));
      e = std::move(idx);
    }
    return e;
  }
  ExprPtr parse_primary() {
    const Token& t = peek();
    if (t.kind == Tok::Int) {
      auto e = make(Expr::Int, t.loc);
      e->ival = t.ival;
      next();
      return e;
    }
    if (t.kind == Tok::Float) {
      auto e = make(Expr::Float, t.loc);
      e->fval = t.fval;
      next();
      return e;
    }
    if (accept("(")) {
      ExprPtr e = parse_expr();
      expect(")");
      return e;
    }
    if (t.kind == Tok::Ident) {
      next();
      if (t.text == "inf") return make(Expr::Inf, t.loc);
      // sum[k](e) and max[k](e): a reduction over index k.
      if ((t.text == "sum" || t.text == "max") && is("[") && peek(1).kind == Tok::Ident &&
          is("]", 2) && is("(", 3)) {
        auto e = make(Expr::Reduce, t.loc);
        e->name = t.text;
        next();
        e->var = next().text;
        next();
        next();
        e->args.push_back(parse_expr());
        expect(")");
        return e;
      }
      if (is("(")) {
        auto e = make(Expr::Call, t.loc);
        e->name = t.text;
        e->args = parse_args("(", ")");
        return e;
      }
      auto e = make(Expr::Name, t.loc);
      e->name = t.text;
      return e;
    }
    fail(t.loc, "expected an expression, found " + describe(t));
  }

  // ---- mappings ----
  MappingDecl parse_mapping() {
    next(); // mapping
    MappingDecl m;
    const Token& name = expect_ident("a mapping name");
    m.name = name.text;
    m.loc = name.loc;
    if (accept("extends")) {
      const Token& b = expect_ident("the name of the mapping it extends");
      m.base = Located<std::string>{b.text, b.loc};
    }
    expect("{");
    while (!accept("}")) {
      if (at_end()) fail(peek().loc, "expected '}' to close mapping '" + m.name + "'");
      if (accept("entry")) {
        const Token& e = expect_ident("the entry instance name");
        if (m.entry)
          fail(e.loc, "mapping '" + m.name + "' has two entry points", "keep one 'entry' line");
        m.entry = Located<std::string>{e.text, e.loc};
        expect(";");
      } else if (accept("instance")) {
        m.instances.push_back(parse_instance(m.base.has_value()));
      } else {
        fail(peek().loc, "expected 'instance' or 'entry' in mapping, found " + describe(peek()));
      }
    }
    return m;
  }

  Level parse_level(const Token& t) {
    static const std::pair<const char*, Level> levels[] = {{"HOST", Level::Host},
                                                           {"BLOCK", Level::Block},
                                                           {"WARPGROUP", Level::Warpgroup},
                                                           {"WARP", Level::Warp},
                                                           {"THREAD", Level::Thread}};
    for (auto& [n, l] : levels)
      if (t.text == n) return l;
    fail(t.loc, "unknown processor level '" + t.text + "'",
         "levels are HOST, BLOCK, WARPGROUP, WARP and THREAD");
  }

  Memory parse_memory(const Token& t) {
    static const std::pair<const char*, Memory> mems[] = {{"GLOBAL", Memory::Global},
                                                          {"SHARED", Memory::Shared},
                                                          {"REGISTER", Memory::Register},
                                                          {"NONE", Memory::None}};
    for (auto& [n, m] : mems)
      if (t.text == n) return m;
    fail(t.loc, "unknown memory '" + t.text + "'",
         "memories are GLOBAL, SHARED, REGISTER and NONE");
  }

  bool parse_bool() {
    const Token& t = expect_ident("true or false");
    if (t.text == "true") return true;
    if (t.text == "false") return false;
    fail(t.loc, "expected true or false, found '" + t.text + "'");
  }

  int64_t parse_int(const char* what) {
    if (peek().kind != Tok::Int)
      fail(peek().loc, std::string("expected ") + what + ", found " + describe(peek()));
    return next().ival;
  }

  // `instance NAME = task.variant @ LEVEL { settings }`, or, in a mapping that extends another,
  // `instance NAME { settings }` to change only those settings of the base's instance NAME.
  Instance parse_instance(bool in_extension) {
    Instance in;
    const Token& name = expect_ident("an instance name");
    in.name = name.text;
    in.loc = name.loc;
    if (is("{") && in_extension) {
      in.amends = true;
    } else if (is("{")) {
      fail(in.loc, "instance '" + in.name + "' names no task.variant and level",
           "write: instance " + in.name +
               " = task.variant @ LEVEL { ... }; or change another mapping's instance: mapping "
               "NAME extends OTHER { instance " +
               in.name + " { ... } }");
    } else {
      expect("=", "an instance is written: instance name = task.variant @ LEVEL { ... }");
      const Token& task = expect_ident("a task name");
      in.task = task.text;
      in.variant_loc = task.loc;
      expect(".", "name the variant as task.variant");
      in.variant = expect_ident("a variant name").text;
      expect("@", "say which processor level runs the instance, e.g. @ BLOCK");
      const Token& lv = expect_ident("a processor level");
      in.level = parse_level(lv);
      in.level_loc = lv.loc;
    }
    expect("{");
    while (!accept("}")) {
      if (at_end()) fail(peek().loc, "expected '}' to close instance '" + in.name + "'");
      const Token& key = expect_ident("an instance setting");
      if (key.text == "tunable") {
        do {
          const Token& n = expect_ident("a tunable name");
          expect("=");
          SourceLoc vloc = peek().loc;
          int64_t v = parse_int("an integer value");
          in.tunables.push_back({{n.text, n.loc}, {v, vloc}});
        } while (accept(","));
      } else if (key.text == "memory") {
        do {
          const Token& n = expect_ident("a tensor name");
          expect("=");
          const Token& m = expect_ident("a memory");
          in.memories.push_back({{n.text, n.loc}, {parse_memory(m), m.loc}});
        } while (accept(","));
      } else if (key.text == "call") {
        do {
          const Token& n = expect_ident("a task name");
          expect("->", "write: call task -> instance;");
          const Token& target = expect_ident("an instance name");
          in.calls.push_back({{n.text, n.loc}, {target.text, target.loc}});
        } while (accept(","));
      } else if (std::optional<Located<bool>>* flag = bool_option(in, key.text)) {
        expect("=");
        *flag = Located<bool>{parse_bool(), key.loc};
      } else if (key.text == "pipeline") {
        expect("=");
        if (accept("auto")) {
          in.pipeline = Located<int>{0, key.loc};
        } else {
          SourceLoc vloc = peek().loc;
          int64_t d = parse_int("a pipeline depth or 'auto'");
          if (d < 1 || d > 16)
            fail(vloc, "pipeline depth " + std::to_string(d) + " is out of range",
                 "use 1 to 16, or auto");
          in.pipeline = Located<int>{static_cast<int>(d), key.loc};
        }
      } else if (key.text == "tile_band") {
        expect("=");
        SourceLoc vloc = peek().loc;
        int64_t b = parse_int("a number of tile rows");
        if (b < 1 || b > 64)
          fail(vloc, "tile_band = " + std::to_string(b) + " is out of range",
               "use 1 (row by row) to 64 rows of tiles per band");
        in.tile_band = Located<int64_t>{b, key.loc};
      } else if (key.text == "smem_bytes") {
        expect("=");
        in.smem_bytes = Located<int64_t>{parse_int("a byte count"), key.loc};
      } else if (key.text == "cluster") {
        expect("=");
        expect("(");
        int64_t x = parse_int("a cluster width");
        expect(",");
        int64_t y = parse_int("a cluster height");
        expect(")");
        in.cluster =
            Located<std::pair<int, int>>{{static_cast<int>(x), static_cast<int>(y)}, key.loc};
      } else {
        std::string settings = "tunable, memory, call";
        for_each_block_option(
            [&](const char* option, auto) { settings += std::string(", ") + option; });
        fail(key.loc, "unknown instance setting '" + key.text + "'", "settings are " + settings);
      }
      expect(";");
    }
    return in;
  }
};

void parse_into(int file, SourceManager& sm, Diagnostics& diags, Program& prog,
                std::set<std::string>& seen, const TypeArgs& type_args) {
  std::vector<std::pair<std::string, SourceLoc>> imports;
  Parser(lex(sm, file, diags), diags, type_args).parse_program(prog, imports);
  namespace fs = std::filesystem;
  fs::path dir = fs::path(sm.path(file)).parent_path();
  for (auto& [rel, loc] : imports) {
    fs::path p = (dir / rel).lexically_normal();
    std::error_code ec;
    fs::path canon = fs::weakly_canonical(p, ec);
    std::string key = ec ? p.string() : canon.string();
    if (!seen.insert(key).second) continue; // already parsed: imports may form a diamond or a cycle
    int id;
    try {
      // Only regular files: a directory or a device such as /dev/zero could not be parsed, or
      // would never end.
      if (!fs::is_regular_file(p, ec)) throw std::runtime_error("not a file");
      id = sm.load(p.string());
    } catch (const std::exception&) {
      diags.error(loc, "cannot read imported file '" + p.string() + "'",
                  "import paths are relative to the importing file");
      continue;
    }
    parse_into(id, sm, diags, prog, seen, type_args);
  }
}

} // namespace

void parse_source(int file, SourceManager& sm, Diagnostics& diags, Program& prog,
                  const TypeArgs& type_args) {
  std::set<std::string> seen;
  std::error_code ec;
  seen.insert(std::filesystem::weakly_canonical(sm.path(file), ec).string());
  parse_into(file, sm, diags, prog, seen, type_args);
  // Bases may come from any file, so mappings are completed once everything is read.
  if (!diags.has_errors()) resolve_mapping_bases(prog, diags);
}

bool parse_file(const std::string& path, SourceManager& sm, Diagnostics& diags, Program& prog,
                const TypeArgs& type_args) {
  int id;
  try {
    id = sm.load(path);
  } catch (const std::exception& e) {
    diags.error(SourceLoc{}, e.what());
    return false;
  }
  parse_source(id, sm, diags, prog, type_args);
  return true;
}

} // namespace grove
