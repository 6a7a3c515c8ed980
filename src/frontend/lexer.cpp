#include "frontend/lexer.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace grove {

std::vector<Token> lex(const SourceManager& sm, int file, Diagnostics& diags) {
  const std::string& s = sm.text(file);
  std::vector<Token> out;
  size_t i = 0;
  int line = 1, col = 1;
  auto advance = [&](size_t n) {
    for (size_t k = 0; k < n && i < s.size(); ++k, ++i) {
      if (s[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
  };
  static const char* two_char[] = {"<=", ">=", "==", "!=", "&&", "||", "->"};
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      advance(1);
      continue;
    }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '/') {
      while (i < s.size() && s[i] != '\n') advance(1);
      continue;
    }
    SourceLoc loc{file, line, col};
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      out.push_back({Tok::Ident, s.substr(i, j - i), loc});
      advance(j - i);
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i;
      bool is_float = false;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      if (j < s.size() && s[j] == '.') {
        is_float = true;
        ++j;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      }
      if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
        if (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
          is_float = true;
          j = k;
          while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        }
      }
      std::string text = s.substr(i, j - i);
      Token t{is_float ? Tok::Float : Tok::Int, text, loc};
      errno = 0;
      if (is_float) {
        t.fval = std::strtod(text.c_str(), nullptr);
      } else {
        t.ival = std::strtoll(text.c_str(), nullptr, 10);
        if (errno == ERANGE || t.ival > (int64_t(1) << 40))
          diags.error(loc, "integer literal '" + text + "' is too large",
                      "integers in Grove source are at most 2^40 = 1099511627776");
      }
      out.push_back(t);
      advance(j - i);
      continue;
    }
    if (c == '"') {
      size_t j = i + 1;
      while (j < s.size() && s[j] != '"' && s[j] != '\n') ++j;
      if (j >= s.size() || s[j] != '"') {
        diags.error(loc, "unterminated string", "close the string with '\"' on the same line");
        // Keep the text up to the end of the line as the string, so the parser does not report
        // the missing token again.
        out.push_back({Tok::String, s.substr(i + 1, j - i - 1), loc});
        advance(j - i);
        continue;
      }
      out.push_back({Tok::String, s.substr(i + 1, j - i - 1), loc});
      advance(j - i + 1);
      continue;
    }
    bool matched = false;
    for (const char* p : two_char) {
      if (s.compare(i, 2, p) == 0) {
        out.push_back({Tok::Punct, p, loc});
        advance(2);
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (std::string("()[]{},;:.=+-*/%<>!@").find(c) != std::string::npos) {
      out.push_back({Tok::Punct, std::string(1, c), loc});
      advance(1);
      continue;
    }
    // A UTF-8 sequence (say a pasted '×') is one character: report it once, as written.
    size_t n = 1;
    unsigned char u = static_cast<unsigned char>(c);
    size_t want = u >= 0xC2 && u <= 0xDF   ? 2
                  : u >= 0xE0 && u <= 0xEF ? 3
                  : u >= 0xF0 && u <= 0xF4 ? 4
                                           : 1;
    while (n < want && i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80)
      ++n;
    std::string shown = std::isprint(u) || (n == want && n > 1)
                            ? s.substr(i, n)
                            : "\\x" + std::string(1, "0123456789abcdef"[(c >> 4) & 15]) +
                                  "0123456789abcdef"[c & 15];
    if (n != want) n = 1; // a stray byte of a broken sequence: one at a time
    static const std::pair<const char*, const char*> lookalikes[] = {
        {"×", "*"}, {"·", "*"}, {"−", "-"}, {"≤", "<="}, {"≥", ">="}, {"≠", "!="}, {"→", "->"}};
    std::string hint = "delete it: outside comments and strings Grove uses ASCII letters, digits, "
                       "'_' and the punctuation ( ) [ ] { } , ; : . = + - * / % < > ! @";
    for (auto [from, to] : lookalikes)
      if (shown == from) hint = std::string("write '") + to + "' instead";
    diags.error(loc, "unexpected character '" + shown + "'", hint);
    advance(n);
  }
  out.push_back({Tok::End, "", SourceLoc{file, line, col}});
  return out;
}

} // namespace grove
