#include "support/diagnostics.h"

#include <fstream>
#include <sstream>

namespace grove {

int SourceManager::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return add(path, ss.str());
}

int SourceManager::add(const std::string& path, std::string text) {
  files_.push_back({path, std::move(text)});
  return static_cast<int>(files_.size()) - 1;
}

std::string SourceManager::line_text(int file, int line) const {
  const std::string& t = files_[file].text;
  size_t pos = 0;
  for (int l = 1; l < line && pos != std::string::npos; ++l) {
    pos = t.find('\n', pos);
    if (pos != std::string::npos) ++pos;
  }
  if (pos == std::string::npos || pos > t.size()) return {};
  size_t end = t.find('\n', pos);
  return t.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

void Diagnostics::error(SourceLoc loc, std::string message, std::string hint) {
  // The same error at the same place once: a setting of a mapping that others extend is checked
  // in each of them, at the base's line.
  for (const Diagnostic& d : errors_)
    if (d.loc.file == loc.file && d.loc.line == loc.line && d.loc.col == loc.col &&
        d.message == message && d.hint == hint)
      return;
  errors_.push_back({loc, std::move(message), std::move(hint)});
}

std::string Diagnostics::format(const Diagnostic& d) const {
  std::ostringstream os;
  if (d.loc.valid()) {
    os << sm_.path(d.loc.file) << ":" << d.loc.line << ":" << d.loc.col << ": error: " << d.message
       << "\n";
    std::string src = sm_.line_text(d.loc.file, d.loc.line);
    os << "  " << src << "\n  ";
    // Keep tabs so the caret lines up under the offending column; a UTF-8 character takes one
    // place however many bytes it has.
    for (int i = 1; i < d.loc.col && i - 1 < static_cast<int>(src.size()); ++i)
      if ((static_cast<unsigned char>(src[i - 1]) & 0xC0) != 0x80)
        os << (src[i - 1] == '\t' ? '\t' : ' ');
    os << "^\n";
  } else {
    os << "grove: error: " << d.message << "\n";
  }
  if (!d.hint.empty()) os << "  hint: " << d.hint << "\n";
  return os.str();
}

void Diagnostics::print(std::ostream& os) const {
  for (const Diagnostic& d : errors_) os << format(d);
}

} // namespace grove
