#include "scheduler/print.h"

#include <algorithm>
#include <sstream>
#include <vector>

namespace grove::sched {

namespace {

constexpr int kLeft = 110;  // label column
constexpr int kWidth = 900; // pixels for one II
constexpr int kLane = 34;
constexpr int kTop = 40;

const char* stage_colour(int stage) {
  static const char* colours[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                  "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};
  return colours[stage % 8];
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

// Draws [offset, offset+len) of a circle of length ii as one or two boxes in a lane.
void box(std::ostringstream& os, const Schedule& s, int lane_y, int64_t offset, int64_t len,
         int stage, const std::string& label, double opacity) {
  if (len <= 0) return;
  auto x = [&](int64_t t) { return kLeft + static_cast<double>(t) * kWidth / s.ii; };
  std::vector<std::pair<int64_t, int64_t>> parts;
  int64_t start = offset % s.ii;
  if (start + len <= s.ii) {
    parts.push_back({start, start + len});
  } else {
    parts.push_back({start, s.ii});
    parts.push_back({0, std::min(s.ii, start + len - s.ii)});
  }
  for (auto [a, b] : parts) {
    double w = std::max(1.5, x(b) - x(a));
    os << "<rect x=\"" << x(a) << "\" y=\"" << lane_y + 4 << "\" width=\"" << w << "\" height=\""
       << kLane - 8 << "\" fill=\"" << stage_colour(stage) << "\" fill-opacity=\"" << opacity
       << "\" stroke=\"#333\" stroke-width=\"0.5\">"
       << "<title>" << escape(label) << "</title></rect>\n";
    if (w > 40)
      os << "<text x=\"" << x(a) + 3 << "\" y=\"" << lane_y + kLane / 2 + 4
         << "\" font-size=\"11\" fill=\"#000\">" << escape(label) << "</text>\n";
  }
}

} // namespace

std::string to_svg(const Schedule& s) {
  std::ostringstream os;
  if (!s.feasible) {
    os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"60\">\n"
       << "<text x=\"10\" y=\"30\" font-family=\"sans-serif\" font-size=\"14\">"
       << escape(s.graph + ": no schedule: " + s.reason) << "</text>\n</svg>\n";
    return os.str();
  }
  std::vector<std::string> units;
  for (const OpSlot& o : s.ops)
    for (const UnitSlot& u : o.units)
      if (std::find(units.begin(), units.end(), u.unit) == units.end()) units.push_back(u.unit);
  int lanes = static_cast<int>(s.roles.size() + units.size());
  int height = kTop + lanes * kLane + 60;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kLeft + kWidth + 20
     << "\" height=\"" << height << "\" font-family=\"sans-serif\">\n";
  os << "<text x=\"10\" y=\"20\" font-size=\"14\">" << escape(s.graph) << " on "
     << escape(s.machine) << ": steady state, II = " << s.ii << " cycles, " << s.stages
     << " stage(s)</text>\n";
  int y = kTop;
  // Warp-role lanes: the time each op occupies its warpgroup (full box); async ops also show
  // their time in flight, faintly.
  for (const Role& r : s.roles) {
    os << "<text x=\"10\" y=\"" << y + kLane / 2 + 4 << "\" font-size=\"12\">wg" << r.id << " "
       << r.kind << "</text>\n";
    for (int i : r.ops) {
      const OpSlot& o = s.ops[i];
      std::string label = o.name + " (s" + std::to_string(o.stage) + ")";
      if (o.async) box(os, s, y, o.offset, std::min(o.latency, s.ii), o.stage, label, 0.18);
      box(os, s, y, o.offset, std::max<int64_t>(o.busy, 1), o.stage, label, 0.9);
    }
    y += kLane;
  }
  // Unit lanes: what each unit is doing.
  for (const std::string& u : units) {
    os << "<text x=\"10\" y=\"" << y + kLane / 2 + 4 << "\" font-size=\"12\" fill=\"#555\">unit "
       << escape(u) << "</text>\n";
    for (const OpSlot& o : s.ops)
      for (const UnitSlot& us : o.units)
        if (us.unit == u)
          box(os, s, y, o.offset, us.cycles, o.stage,
              o.name + " (s" + std::to_string(o.stage) + ")", 0.6);
    y += kLane;
  }
  // Time axis and stage legend.
  os << "<line x1=\"" << kLeft << "\" y1=\"" << y + 4 << "\" x2=\"" << kLeft + kWidth << "\" y2=\""
     << y + 4 << "\" stroke=\"#000\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    double x = kLeft + kWidth * i / 4.0;
    os << "<text x=\"" << x - 10 << "\" y=\"" << y + 20 << "\" font-size=\"10\">" << s.ii * i / 4
       << "</text>\n";
  }
  for (int st = 0; st < s.stages; ++st) {
    int x = kLeft + st * 90;
    os << "<rect x=\"" << x << "\" y=\"" << y + 30 << "\" width=\"14\" height=\"14\" fill=\""
       << stage_colour(st) << "\"/><text x=\"" << x + 18 << "\" y=\"" << y + 42
       << "\" font-size=\"11\">stage " << st << "</text>\n";
  }
  os << "</svg>\n";
  return os.str();
}

} // namespace grove::sched
