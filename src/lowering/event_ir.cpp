#include "lowering/event_ir.h"

#include <sstream>
#include <stdexcept>

namespace grove::lower {

std::vector<int64_t> View::const_extent() const {
  std::vector<int64_t> out;
  for (const IExprP& e : extent) {
    int64_t v = 0;
    if (!kir::is_const(e, &v)) throw std::logic_error("extent is not constant");
    out.push_back(v);
  }
  return out;
}

std::string view_str(const BlockProgram& b, const View& v) {
  std::ostringstream os;
  os << b.tensors.at(static_cast<size_t>(v.tensor)).name << "(";
  for (size_t i = 0; i < v.origin.size(); ++i)
    os << (i ? ", " : "") << kir::to_string(*v.origin[i]);
  os << ")[";
  for (size_t i = 0; i < v.extent.size(); ++i)
    os << (i ? ", " : "") << kir::to_string(*v.extent[i]);
  os << "]";
  return os.str();
}

void for_each_event(Events& evs, const std::function<void(Event&)>& f) {
  for (Event& e : evs) {
    f(e);
    if (e.kind == Event::Loop) for_each_event(e.body, f);
  }
}

namespace {

void events_text(const BlockProgram& b, const Events& evs, int indent, std::ostream& os) {
  std::string pad(static_cast<size_t>(indent), ' ');
  for (const Event& e : evs) {
    os << pad << "e" << e.id << ": ";
    auto proc = [&]() -> std::string {
      if (e.wg_count == 0) return "block";
      if (!e.wg_var.empty()) return "warpgroups " + e.wg_var + " < " + std::to_string(e.wg_count);
      return "each warpgroup wg";
    };
    switch (e.kind) {
    case Event::Loop:
      os << "for " << e.var << " in 0.." << kir::to_string(*e.extent) << "\n";
      events_text(b, e.body, indent + 2, os);
      continue;
    case Event::Copy:
      os << "copy " << view_str(b, e.dst) << " <- " << view_str(b, e.src) << "  [" << proc() << "]";
      break;
    case Event::Leaf: {
      os << "leaf " << e.note << "  [" << proc() << "]";
      for (const auto& [n, v] : e.args)
        os << "\n" << pad << "      " << n << " = " << view_str(b, v);
      break;
    }
    }
    if (!e.pre.empty() || !e.pre_carried.empty()) {
      os << "\n" << pad << "      after";
      for (int p : e.pre) os << " e" << p;
      for (int p : e.pre_carried) os << " e" << p << "(previous iteration)";
    }
    os << "\n";
  }
}

} // namespace

std::string to_text(const Lowered& l) {
  std::ostringstream os;
  for (const kir::GlobalTensor& t : l.globals) {
    if (!t.temporary) continue;
    os << "temporary GLOBAL " << t.name << ": " << elem_name(t.elem) << "["
       << kir::to_string(t.shape)
       << "] (a HOST local: the runtime allocates it; one kernel writes it, a later one reads "
          "it)\n";
  }
  for (const BlockProgram& b : l.blocks) {
    os << "block program " << b.name << " (instance " << b.block->name << ")\n  grid:";
    for (size_t i = 0; i < b.grid.size(); ++i)
      os << " " << b.grid_vars[i] << " < " << kir::to_string(*b.grid[i]);
    os << "\n";
    for (const Tensor& t : b.tensors) {
      if (t.kind == Tensor::Global) continue;
      os << "  " << memory_name(t.memory) << " " << t.name << ": " << elem_name(t.elem) << "["
         << kir::to_string(t.shape) << "]";
      if (t.per_warpgroup) os << " per warpgroup";
      if (t.slots > 1) os << " x " << t.slots << " slots";
      if (t.offset >= 0) os << " at " << t.offset;
      if (t.alias_of >= 0)
        os << " (reuses " << b.tensors[static_cast<size_t>(t.alias_of)].name << ")";
      os << "\n";
    }
    events_text(b, b.events, 2, os);
  }
  return os.str();
}

} // namespace grove::lower
