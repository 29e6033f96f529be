// SPDX-License-Identifier: Apache-2.0
#include "command_template.hpp"

#include <cctype>

namespace cohort_run {
namespace {

bool is_safe(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
         c == '/' || c == ',' || c == ':' || c == '+' || c == '=' || c == '@' || c == '%';
}

// GNU parallel's definitions ({.}: s:\.[^/.]*$::).
std::string without_extension(const std::string& s) {
  const auto dot = s.find_last_of('.');
  if (dot == std::string::npos) return s;
  if (s.find('/', dot) != std::string::npos) return s;
  return s.substr(0, dot);
}
std::string basename_of(const std::string& s) {  // s:^.*/::
  const auto slash = s.find_last_of('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}
std::string dirname_of(std::string s) {  // dirname(1): "dir/sub/" -> "dir", "/x" -> "/", "x" -> "."
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  const auto slash = s.find_last_of('/');
  if (slash == std::string::npos) return ".";
  s.resize(slash);
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s.empty() ? "/" : s;
}

}  // namespace

std::string shell_quote(const std::string& value) {
  if (value.empty()) return "''";
  bool safe = true;
  for (char c : value) safe = safe && is_safe(c);
  if (safe) return value;
  std::string q = "'";
  for (char c : value) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  q += '\'';
  return q;
}

std::optional<command_template> command_template::compile(const std::vector<std::string>& words,
                                                          std::size_t sources, std::string& error) {
  command_template t;
  if (words.empty()) {
    t.input_is_command_ = true;
    return t;
  }
  std::string command;
  for (const auto& w : words) {
    if (!command.empty()) command += ' ';
    command += w;
  }

  std::string text;
  bool any_replacement = false;
  std::size_t i = 0;
  while (i < command.size()) {
    const char c = command[i];
    const auto close = c == '{' ? command.find('}', i + 1) : std::string::npos;
    if (close == std::string::npos) {
      text += c;
      ++i;
      continue;
    }
    const std::string inner = command.substr(i + 1, close - i - 1);
    part p;
    std::size_t digits = 0;
    while (digits < inner.size() && std::isdigit(static_cast<unsigned char>(inner[digits])))
      ++digits;
    const std::string suffix = inner.substr(digits);
    bool recognised = true;
    if (inner == "#")
      p.kind = part_kind::seq;
    else if (inner == "%")
      p.kind = part_kind::slot;
    else if (suffix.empty())
      p.how = transform::whole;
    else if (suffix == ".")
      p.how = transform::no_extension;
    else if (suffix == "/")
      p.how = transform::basename;
    else if (suffix == "//")
      p.how = transform::dirname;
    else if (suffix == "/.")
      p.how = transform::basename_no_extension;
    else
      recognised = false;
    if (!recognised) {  // not a replacement string: plain text
      text += c;
      ++i;
      continue;
    }
    if (p.kind == part_kind::text) {
      p.kind = part_kind::value;
      if (digits > 0) {
        const std::string number = inner.substr(0, digits);
        p.source = number.size() > 6 ? 1000000 : std::stoul(number);
        if (p.source == 0 || p.source > sources) {
          error =
              "replacement string {" + inner + "}: " +
              (p.source == 0
                   ? std::string("sources are numbered from 1")
                   : "there " + std::string(sources == 1 ? "is only 1 input source"
                                                         : "are only " + std::to_string(sources) +
                                                               " input sources"));
          return std::nullopt;
        }
      }
    }
    if (!text.empty())
      t.parts_.push_back(part{part_kind::text, std::move(text), 0, transform::whole});
    text.clear();
    if (p.kind == part_kind::value) any_replacement = true;
    t.parts_.push_back(std::move(p));
    i = close + 1;
  }
  if (!text.empty())
    t.parts_.push_back(part{part_kind::text, std::move(text), 0, transform::whole});
  // {#} and {%} alone still mean "append the input" in GNU parallel.
  t.append_input_ = !any_replacement;
  return t;
}

std::string command_template::render(const std::vector<std::string>& args, std::size_t seq,
                                     std::size_t slot) const {
  std::string out;
  if (input_is_command_) {
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (i > 0) out += ' ';
      out += args[i];
    }
    return out;
  }
  auto apply = [](const std::string& v, transform how) {
    switch (how) {
      case transform::whole:
        return v;
      case transform::no_extension:
        return without_extension(v);
      case transform::basename:
        return basename_of(v);
      case transform::dirname:
        return dirname_of(v);
      case transform::basename_no_extension:
        return without_extension(basename_of(v));
    }
    return v;
  };
  for (const auto& p : parts_) {
    switch (p.kind) {
      case part_kind::text:
        out += p.text;
        break;
      case part_kind::seq:
        out += std::to_string(seq);
        break;
      case part_kind::slot:
        out += std::to_string(slot);
        break;
      case part_kind::value:
        if (p.source != 0) {
          out += shell_quote(apply(args[p.source - 1], p.how));
        } else {
          for (std::size_t i = 0; i < args.size(); ++i) {
            if (i > 0) out += ' ';
            out += shell_quote(apply(args[i], p.how));
          }
        }
        break;
    }
  }
  if (append_input_)
    for (const auto& a : args) {
      out += ' ';
      out += shell_quote(a);
    }
  return out;
}

}  // namespace cohort_run
