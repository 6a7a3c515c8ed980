// Splits Grove source into tokens. Keywords are ordinary identifiers; the parser knows them by
// position, so a task may use a word like `tile` or `entry` as a tensor name.
#pragma once
#include <string>
#include <vector>

#include "support/diagnostics.h"

namespace grove {

enum class Tok { Ident, Int, Float, String, Punct, End };

struct Token {
  Tok kind;
  std::string text; // identifier, punctuation, or the string's contents
  SourceLoc loc;
  int64_t ival = 0;
  double fval = 0;
};

// Lexes one file. Malformed input (a stray character, a number too large) is reported to `diags`
// and skipped, so the parser still sees a well-formed token stream ending in Tok::End.
std::vector<Token> lex(const SourceManager& sm, int file, Diagnostics& diags);

} // namespace grove
