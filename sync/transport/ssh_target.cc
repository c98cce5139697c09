#include "sync/transport/ssh_target.h"

#include <openssl/evp.h>
#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "storage/subprocess.h"
#include "sync/transport/known_hosts.h"

namespace taskfs::sync {
namespace {

std::string Home() {
  const char* home = std::getenv("HOME");
  return home ? home : "";
}

// The home directory ssh itself expands "~" to (the password database's, not $HOME).
std::string PasswdHome() {
  const passwd* pw = ::getpwuid(::getuid());
  return pw && pw->pw_dir ? pw->pw_dir : "";
}

bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// "host[:port]" or "[host]:port" / "[v6]" of a URL's authority, after any "user@".
void SplitHostPort(std::string_view authority, SshUrl* url) {
  std::string_view port;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return;
    url->host = authority.substr(1, close - 1);
    if (authority.substr(close + 1).starts_with(':')) port = authority.substr(close + 2);
  } else {
    const size_t colon = authority.rfind(':');
    url->host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (!port.empty() && port.find_first_not_of("0123456789") == std::string_view::npos &&
      port.size() <= 5) {
    url->port = std::stoi(std::string(port));
  }
}

// ssh -G's settings: lower-case keyword -> values in order (a keyword may repeat).
std::multimap<std::string, std::string> SshSettings(const SshUrl& url) {
  std::vector<std::string> argv = {"ssh", "-G"};
  const std::string home = Home();
  if (!home.empty() && home != PasswdHome()) {
    // ssh would read the password database's home: read $HOME's file, like git's HOME.
    const std::string config = home + "/.ssh/config";
    argv.insert(argv.end(), {"-F", Exists(config) ? config : "/dev/null"});
  }
  if (!url.user.empty()) argv.insert(argv.end(), {"-l", url.user});
  if (url.port > 0) argv.insert(argv.end(), {"-p", std::to_string(url.port)});
  argv.insert(argv.end(), {"--", url.host});
  std::multimap<std::string, std::string> settings;
  auto run = storage::RunProcess(argv);
  if (!run.ok() || run->exit_code != 0) return settings;
  std::istringstream lines(run->output);
  for (std::string line; std::getline(lines, line);) {
    const size_t blank = line.find(' ');
    if (blank == std::string::npos) continue;
    std::string key = line.substr(0, blank);
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::istringstream values(line.substr(blank + 1));
    for (std::string value; values >> value;) settings.emplace(key, value);
  }
  return settings;
}

// A path from ssh's settings with "~" and ssh's %-tokens expanded, "~" being $HOME.
std::string ExpandPath(std::string path, const SshTarget& target) {
  const std::string home = Home(), passwd_home = PasswdHome();
  if (path == "~" || path.starts_with("~/")) path = home + path.substr(1);
  if (!passwd_home.empty() && home != passwd_home && path.starts_with(passwd_home + "/")) {
    path = home + path.substr(passwd_home.size());
  }
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%' || i + 1 == path.size()) {
      out += path[i];
      continue;
    }
    switch (path[++i]) {
      case 'd':
        out += home;
        break;
      case 'h':
        out += target.hostname;
        break;
      case 'p':
        out += std::to_string(target.port);
        break;
      case 'r':
        out += target.user;
        break;
      case '%':
        out += '%';
        break;
      default:
        out += '%';
        out += path[i];
    }
  }
  return out;
}

std::vector<std::string> Values(const std::multimap<std::string, std::string>& settings,
                                const std::string& key) {
  std::vector<std::string> values;
  for (auto [it, end] = settings.equal_range(key); it != end; ++it) values.push_back(it->second);
  return values;
}

}  // namespace

std::optional<SshUrl> ParseSshUrl(const std::string& url) {
  SshUrl parsed;
  std::string_view rest = url;
  bool url_form = false;
  for (std::string_view scheme : {"ssh://", "git+ssh://", "ssh+git://"}) {
    if (rest.starts_with(scheme)) {
      rest.remove_prefix(scheme.size());
      url_form = true;
    }
  }
  std::string_view authority;
  if (url_form) {
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    authority = rest.substr(0, slash);
    std::string_view path = rest.substr(slash);
    if (path.starts_with("/~")) path.remove_prefix(1);  // git's "ssh://host/~/x": x in the home
    parsed.path = path;
  } else {
    // scp form: "host:path" with no "://" and no '/' before the ':' (that would be a path).
    const size_t colon = rest.starts_with('[') ? rest.find("]:") + 1 : rest.find(':');
    if (url.find("://") != std::string::npos || colon == 0 || colon == std::string_view::npos ||
        rest.substr(0, colon).find('/') != std::string_view::npos) {
      return std::nullopt;
    }
    authority = rest.substr(0, colon);
    parsed.path = rest.substr(colon + 1);
  }
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    parsed.user = authority.substr(0, at);
    authority.remove_prefix(at + 1);
  }
  if (url_form) {
    SplitHostPort(authority, &parsed);
  } else {
    parsed.host =
        authority.starts_with('[') ? authority.substr(1, authority.size() - 2) : authority;
  }
  // A host or user starting with '-' would be read as an option by ssh (git refuses them too).
  if (parsed.host.empty() || parsed.host[0] == '-' || parsed.user.starts_with('-') ||
      parsed.path.empty()) {
    return std::nullopt;
  }
  return parsed;
}

SshTarget ResolveSshTarget(const SshUrl& url) {
  const auto settings = SshSettings(url);
  auto first = [&](const std::string& key, const std::string& fallback) {
    auto it = settings.find(key);
    return it == settings.end() ? fallback : it->second;
  };
  SshTarget target;
  target.hostname = first("hostname", url.host);
  target.user = first("user", url.user.empty() ? "git" : url.user);
  const std::string port = first("port", url.port > 0 ? std::to_string(url.port) : "22");
  target.port = port.find_first_not_of("0123456789") == std::string::npos && port.size() <= 5
                    ? std::stoi(port)
                    : 22;
  target.path = url.path;
  target.identities_only = first("identitiesonly", "no") == "yes";
  std::vector<std::string> identities = Values(settings, "identityfile");
  if (identities.empty()) identities = {"~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"};
  for (const std::string& file : identities) {
    const std::string path = ExpandPath(file, target);
    if (Exists(path)) target.identity_files.push_back(path);
  }
  std::vector<std::string> known = Values(settings, "userknownhostsfile");
  if (known.empty()) known = {"~/.ssh/known_hosts"};
  for (const std::string& file : Values(settings, "globalknownhostsfile")) known.push_back(file);
  if (settings.empty()) known.push_back("/etc/ssh/ssh_known_hosts");
  for (const std::string& file : known) {
    if (file != "none") target.known_hosts_files.push_back(ExpandPath(file, target));
  }
  target.known_hosts_name = KnownHostsName(first("hostkeyalias", target.hostname), target.port);
  return target;
}

std::string SshTarget::Url() const {
  const bool v6 = hostname.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + hostname + "]" : hostname;
  const std::string slash_path = path.starts_with('/') ? path : "/" + path;
  return "ssh://" + user + "@" + host + ":" + std::to_string(port) + slash_path;
}

bool KeyFileNeedsPassphrase(const std::string& path) {
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  if (text.find("ENCRYPTED") != std::string::npos) return true;  // PEM: "Proc-Type: 4,ENCRYPTED"
  const std::string begin = "-----BEGIN OPENSSH PRIVATE KEY-----";
  const size_t start = text.find(begin);
  if (start == std::string::npos) return false;
  std::string base64;
  for (size_t i = start + begin.size(); i < text.size() && text[i] != '-'; ++i) {
    if (!std::isspace(static_cast<unsigned char>(text[i]))) base64 += text[i];
  }
  // "openssh-key-v1\0", then the cipher's name as an SSH string: "none" when not encrypted.
  std::string bytes(base64.size() / 4 * 3 + 3, '\0');
  const int size = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                                   reinterpret_cast<const unsigned char*>(base64.data()),
                                   static_cast<int>(base64.size()));
  const std::string magic("openssh-key-v1\0", 15);
  if (size < 23 || bytes.compare(0, magic.size(), magic) != 0) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + magic.size();
  const uint32_t length = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (p[2] << 8) | p[3];
  if (length > static_cast<uint32_t>(size) - 19) return false;
  return bytes.compare(19, length, "none") != 0;
}

}  // namespace taskfs::sync
