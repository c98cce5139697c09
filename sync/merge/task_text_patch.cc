#include "sync/merge/task_text_patch.h"

#include <map>
#include <sstream>
#include <vector>

namespace taskfs::sync {
namespace {

// A task's text cut into top-level key blocks (the key's line and the lines that continue its
// value) and the lines between them (comments at column 0, document markers).
struct Blocks {
  struct Piece {
    std::string key;  // empty for lines that belong to no key
    std::string text;
  };
  std::vector<Piece> pieces;
  std::map<std::string, size_t> index;  // key -> piece

  const std::string* Find(const std::string& key) const {
    auto it = index.find(key);
    return it == index.end() ? nullptr : &pieces[it->second].text;
  }
};

// The key a line starts, or "" when it starts none (indented, a comment, a list item...).
std::string KeyOfLine(const std::string& line) {
  if (line.empty() || line[0] == ' ' || line[0] == '\t' || line[0] == '#' || line[0] == '-' ||
      line[0] == '"' || line[0] == '\'' || line.starts_with("...")) {
    return "";
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0) return "";
  if (colon + 1 < line.size() && line[colon + 1] != ' ') return "";
  return line.substr(0, colon);
}

Blocks Cut(const std::string& text) {
  Blocks blocks;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const std::string key = KeyOfLine(line);
    const bool continues = key.empty() && !blocks.pieces.empty() &&
                           !blocks.pieces.back().key.empty() && !line.starts_with("#") &&
                           !line.starts_with("---");
    if (!key.empty()) {
      blocks.index[key] = blocks.pieces.size();
      blocks.pieces.push_back({key, ""});
    } else if (!continues) {
      blocks.pieces.push_back({"", ""});
    }
    blocks.pieces.back().text += line + "\n";
  }
  return blocks;
}

}  // namespace

std::optional<std::string> PatchTaskText(const std::string& winner_text,
                                         const TaskFields& winner_fields,
                                         const std::string& loser_text,
                                         const TaskFields& loser_fields, const TaskFields& merged) {
  if (winner_text.empty() || winner_text.back() != '\n') return std::nullopt;
  Blocks w = Cut(winner_text);
  const Blocks l = Cut(loser_text);
  // The text a merged key should have: the winner's, the loser's, or written afresh.
  auto text_for = [&](const std::string& key, const YAML::Node& value) -> std::string {
    auto wv = FindField(winner_fields, key);
    if (wv && SameValue(*wv, value) && w.Find(key)) return *w.Find(key);
    auto lv = FindField(loser_fields, key);
    if (lv && SameValue(*lv, value) && l.Find(key)) return *l.Find(key);
    return EmitTaskFields({{key, value}});
  };
  std::map<std::string, const YAML::Node*> wanted;
  for (const auto& [key, value] : merged) wanted[key] = &value;
  std::string out;
  for (const auto& piece : w.pieces) {
    if (piece.key.empty()) {
      out += piece.text;
    } else if (auto it = wanted.find(piece.key); it != wanted.end()) {
      out += text_for(piece.key, *it->second);
    }  // else: the merge dropped this key
  }
  for (const auto& [key, value] : merged) {
    if (!w.Find(key)) out += text_for(key, value);
  }
  auto parsed = ParseTaskFields(out);
  if (!parsed || !SameFields(*parsed, merged)) return std::nullopt;
  return out;
}

}  // namespace taskfs::sync
