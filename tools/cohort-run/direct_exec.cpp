// SPDX-License-Identifier: Apache-2.0
#include "direct_exec.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace cohort_run {
namespace {

// Words a shell treats specially as a command: keywords and builtins whose behaviour
// differs from (or has no) program in PATH.
constexpr std::array<std::string_view, 40> shell_words{
    ".",        ":",      "alias",  "bg",    "break", "case",     "cd",       "command",
    "continue", "do",     "done",   "elif",  "else",  "esac",     "eval",     "exec",
    "exit",     "export", "fc",     "fg",    "fi",    "for",      "function", "getopts",
    "hash",     "if",     "jobs",   "local", "read",  "readonly", "return",   "select",
    "set",      "shift",  "source", "then",  "times", "trap",     "ulimit",   "umask"};
constexpr std::array<std::string_view, 6> more_shell_words{"unalias", "unset", "until",
                                                           "wait",    "while", "type"};

bool is_plain(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
         c == '/' || c == ',' || c == ':' || c == '+' || c == '=' || c == '@' || c == '%' ||
         c == ' ';
}

}  // namespace

std::optional<std::vector<std::string>> direct_argv(const std::string& command) {
  if (!std::all_of(command.begin(), command.end(), is_plain)) return std::nullopt;
  std::vector<std::string> argv;
  std::size_t i = 0;
  while (i < command.size()) {
    while (i < command.size() && command[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < command.size() && command[i] != ' ') ++i;
    if (i > start) argv.emplace_back(command, start, i - start);
  }
  if (argv.empty()) return std::nullopt;
  const std::string_view first = argv[0];
  if (first.find('=') != std::string_view::npos) return std::nullopt;  // NAME=value cmd
  if (std::find(shell_words.begin(), shell_words.end(), first) != shell_words.end())
    return std::nullopt;
  if (std::find(more_shell_words.begin(), more_shell_words.end(), first) != more_shell_words.end())
    return std::nullopt;
  return argv;
}

}  // namespace cohort_run
