#include "fusefs/local_attributes.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "storage/file_util.h"

namespace taskfs::fusefs {
namespace {

using nlohmann::json;

bool Below(std::string_view path, std::string_view dir) {
  return path == dir || dir.empty() ||
         (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

json TimeToJson(const timespec& t) { return json::array({t.tv_sec, t.tv_nsec}); }

timespec TimeFromJson(const json& j) { return {j.at(0).get<time_t>(), j.at(1).get<long>()}; }

json SetRecord(const std::string& path, const FileAttributes& a) {
  json j = {{"set", path}};
  if (a.mode) j["mode"] = *a.mode;
  if (a.uid) j["uid"] = *a.uid;
  if (a.gid) j["gid"] = *a.gid;
  if (a.mtime) j["mtime"] = TimeToJson(*a.mtime);
  if (a.atime) j["atime"] = TimeToJson(*a.atime);
  return j;
}

}  // namespace

Status LocalAttributes::Load(const std::function<bool(const std::string&)>& exists) {
  attrs_.clear();
  {
    std::ifstream in(file_);
    std::string line;
    while (std::getline(in, line)) Apply(line);  // a torn line is skipped
  }
  std::erase_if(attrs_, [&](const auto& entry) { return !exists(entry.first); });
  std::string compacted;
  for (const auto& [path, a] : attrs_) compacted += SetRecord(path, a).dump() + "\n";
  TASKFS_RETURN_IF_ERROR(storage::WriteFileAtomically(file_, compacted, 0600));
  fd_.reset(::open(file_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!fd_) return Status::FromErrno(errno, "opening " + file_);
  return Status::OK();
}

const FileAttributes* LocalAttributes::Find(std::string_view path) const {
  auto it = attrs_.find(path);
  return it == attrs_.end() ? nullptr : &it->second;
}

Status LocalAttributes::Set(const std::string& path, const FileAttributes& change) {
  const std::string line = SetRecord(path, change).dump();
  Apply(line);
  return Append(line);
}

Status LocalAttributes::ClearTimes(const std::string& path) {
  auto it = attrs_.find(path);
  if (it == attrs_.end() || (!it->second.mtime && !it->second.atime)) return Status::OK();
  const std::string line = json{{"clear_times", path}}.dump();
  Apply(line);
  return Append(line);
}

Status LocalAttributes::Remove(const std::string& path) {
  auto it = attrs_.lower_bound(path);
  if (it == attrs_.end() || !Below(it->first, path)) {
    // Nothing at `path`; something below it sorts after "path/".
    it = attrs_.lower_bound(path + "/");
    if (it == attrs_.end() || !Below(it->first, path)) return Status::OK();
  }
  const std::string line = json{{"remove", path}}.dump();
  Apply(line);
  return Append(line);
}

Status LocalAttributes::Move(const std::string& from, const std::string& to) {
  const std::string line = json{{"move", from}, {"to", to}}.dump();
  Apply(line);
  return Append(line);
}

bool LocalAttributes::Apply(std::string_view line) {
  const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  try {
    if (j.contains("set")) {
      FileAttributes& a = attrs_[j["set"].get<std::string>()];
      if (j.contains("mode")) a.mode = j["mode"].get<mode_t>();
      if (j.contains("uid")) a.uid = j["uid"].get<uid_t>();
      if (j.contains("gid")) a.gid = j["gid"].get<gid_t>();
      if (j.contains("mtime")) a.mtime = TimeFromJson(j["mtime"]);
      if (j.contains("atime")) a.atime = TimeFromJson(j["atime"]);
    } else if (j.contains("clear_times")) {
      if (auto it = attrs_.find(j["clear_times"].get<std::string>()); it != attrs_.end()) {
        it->second.mtime.reset();
        it->second.atime.reset();
      }
    } else if (j.contains("remove")) {
      const std::string path = j["remove"].get<std::string>();
      std::erase_if(attrs_, [&](const auto& entry) { return Below(entry.first, path); });
    } else if (j.contains("move")) {
      const std::string from = j["move"].get<std::string>();
      const std::string to = j.at("to").get<std::string>();
      std::erase_if(attrs_, [&](const auto& entry) { return Below(entry.first, to); });
      std::vector<std::pair<std::string, FileAttributes>> moved;
      for (auto it = attrs_.begin(); it != attrs_.end();) {
        if (Below(it->first, from)) {
          moved.emplace_back(to + it->first.substr(from.size()), it->second);
          it = attrs_.erase(it);
        } else {
          ++it;
        }
      }
      for (auto& [path, a] : moved) attrs_[path] = a;
    } else {
      return false;
    }
  } catch (const json::exception&) {
    return false;  // a record with fields of the wrong type: skipped like a torn one
  }
  return true;
}

Status LocalAttributes::Append(const std::string& line) {
  if (!fd_) return Status::OK();  // not loaded (a test of TaskFilesystem without Start)
  const std::string record = line + "\n";
  // One write(2) of a short line with O_APPEND: a crash leaves it whole or torn, never mixed.
  if (::write(fd_.get(), record.data(), record.size()) != static_cast<ssize_t>(record.size())) {
    return Status::FromErrno(errno, "writing " + file_);
  }
  return Status::OK();
}

}  // namespace taskfs::fusefs
