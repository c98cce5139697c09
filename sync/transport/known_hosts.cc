#include "sync/transport/known_hosts.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "storage/subprocess.h"

namespace taskfs::sync {
namespace {

// What `ssh-keygen ARGS` prints ("" if it cannot run), given `input` on its stdin.
std::string SshKeygen(const std::vector<std::string>& args, const std::string& input = "") {
  std::vector<std::string> argv = {"ssh-keygen"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto run = storage::RunProcess(argv, input);
  return run.ok() ? run->output : "";
}

std::string Md5Text(const unsigned char md5[16]) {
  std::string text = "MD5";
  char byte[4];
  for (int i = 0; i < 16; ++i) {
    std::snprintf(byte, sizeof byte, ":%02x", md5[i]);
    text += byte;
  }
  return text;
}

}  // namespace

HostKeyCheck CheckKnownHost(const std::string& host, const unsigned char md5[16]) {
  std::vector<std::string> files;
  if (const char* home = std::getenv("HOME"))
    files.push_back(std::string(home) + "/.ssh/known_hosts");
  files.push_back("/etc/ssh/ssh_known_hosts");
  const std::string wanted = Md5Text(md5);
  bool host_known = false;
  for (const auto& file : files) {
    if (::access(file.c_str(), R_OK) != 0) continue;
    // The lines for this host (ssh-keygen -F also finds hashed names), then their fingerprints.
    std::string lines;
    std::istringstream found(SshKeygen({"-F", host, "-f", file}));
    for (std::string line; std::getline(found, line);) {
      if (!line.empty() && line[0] != '#') lines += line + "\n";
    }
    if (lines.empty()) continue;
    host_known = true;
    const std::string prints = SshKeygen({"-l", "-E", "md5", "-f", "-"}, lines);
    if (prints.find(wanted + " ") != std::string::npos) return HostKeyCheck::kKnown;
  }
  return host_known ? HostKeyCheck::kMismatch : HostKeyCheck::kUnknownHost;
}

}  // namespace taskfs::sync
