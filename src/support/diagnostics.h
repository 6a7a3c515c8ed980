// Source locations and `file:line:col: error:` diagnostics with a caret and a hint.
#pragma once
#include <cstdint>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace grove {

struct SourceLoc {
  int file = -1; // index into SourceManager; -1 means "no location"
  int line = 0;  // 1-based
  int col = 0;   // 1-based
  bool valid() const { return file >= 0; }
};

// Owns the text of every file read, so diagnostics can quote the offending line.
class SourceManager {
public:
  // Returns the file id; throws std::runtime_error when the file cannot be read.
  int load(const std::string& path);
  int add(const std::string& path, std::string text);
  const std::string& path(int file) const { return files_[file].path; }
  const std::string& text(int file) const { return files_[file].text; }
  std::string line_text(int file, int line) const;

private:
  struct File {
    std::string path;
    std::string text;
  };
  std::vector<File> files_;
};

struct Diagnostic {
  SourceLoc loc;
  std::string message;
  std::string hint; // optional: how to fix it
};

// Collects errors so one run can report several; printing is separate from collecting.
class Diagnostics {
public:
  explicit Diagnostics(const SourceManager& sm) : sm_(sm) {}
  void error(SourceLoc loc, std::string message, std::string hint = {});
  bool has_errors() const { return !errors_.empty(); }
  size_t count() const { return errors_.size(); }
  const std::vector<Diagnostic>& errors() const { return errors_; }
  void print(std::ostream& os) const;
  std::string format(const Diagnostic& d) const;

private:
  const SourceManager& sm_;
  std::vector<Diagnostic> errors_;
};

// Thrown for an error found while running (interpreter, elaboration): carries one diagnostic.
struct GroveError : std::runtime_error {
  GroveError(SourceLoc l, const std::string& msg, std::string h = {})
      : std::runtime_error(msg), loc(l), hint(std::move(h)) {}
  SourceLoc loc;
  std::string hint;
};

} // namespace grove
