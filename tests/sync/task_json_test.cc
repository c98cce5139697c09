// Tasks as JSON for taskfs-server's JSON routes: YAML mappings to JSON objects with scalars kept
// as their text, JSON objects back to block-style YAML in key order, round trips of awkward
// strings, and the refusal of what is not a task (or is hostile).
#include "sync/server/task_json.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/task_limits.h"
#include "tests/test_util.h"

namespace taskfs::sync {
namespace {

using Json = nlohmann::ordered_json;

Json ToJsonOrDie(const std::string& yaml) {
  auto j = TaskToJson(yaml);
  EXPECT_TRUE(j.ok()) << j.status().ToString() << "\n" << yaml;
  return j.ok() ? *j : Json();
}

std::string FromJsonOrDie(const Json& task) {
  auto y = TaskFromJson(task);
  EXPECT_TRUE(y.ok()) << y.status().ToString() << "\n" << task.dump();
  return y.ok() ? *y : "";
}

std::vector<std::string> Keys(const Json& object) {
  std::vector<std::string> out;
  for (const auto& [k, v] : object.items()) out.push_back(k);
  return out;
}

TEST(TaskJson, AMappingBecomesAnObjectOfStringsArraysAndObjects) {
  const Json j = ToJsonOrDie(
      "title: Write the report\n"
      "priority: 5\n"
      "done: false\n"
      "tags: [work, urgent]\n"
      "owner:\n"
      "  name: Ada\n"
      "  since: 2024-01-02\n");
  const Json want = Json::parse(R"({
      "title": "Write the report",
      "priority": "5",
      "done": "false",
      "tags": ["work", "urgent"],
      "owner": {"name": "Ada", "since": "2024-01-02"}})");
  EXPECT_EQ(j, want) << j.dump();
}

TEST(TaskJson, ScalarsKeepTheirTextExactly) {
  const Json j = ToJsonOrDie(
      "zip: 007\n"
      "price: 1.50\n"
      "hex: 0x1F\n"
      "yes: yes\n"
      "quoted: \"5\"\n"
      "big: 123456789012345678901234567890\n");
  EXPECT_EQ(j["zip"], "007");
  EXPECT_EQ(j["price"], "1.50");
  EXPECT_EQ(j["hex"], "0x1F");
  EXPECT_EQ(j["yes"], "yes");
  EXPECT_EQ(j["quoted"], "5");
  EXPECT_EQ(j["big"], "123456789012345678901234567890");
  for (const auto& [k, v] : j.items()) EXPECT_TRUE(v.is_string()) << k;
}

TEST(TaskJson, KeysKeepTheOrderOfTheYaml) {
  const Json j = ToJsonOrDie("zeta: 1\nalpha: 2\nmid: 3\nbeta:\n  z: 1\n  a: 2\n");
  EXPECT_EQ(Keys(j), (std::vector<std::string>{"zeta", "alpha", "mid", "beta"}));
  EXPECT_EQ(Keys(j["beta"]), (std::vector<std::string>{"z", "a"}));
}

TEST(TaskJson, WhatIsNotAMappingIsRefused) {
  for (const std::string& yaml :
       {std::string(""), std::string("just a line\n"), std::string("- a\n- b\n"),
        std::string("~\n"), std::string("# only a comment\n")}) {
    auto j = TaskToJson(yaml);
    ASSERT_FALSE(j.ok()) << "accepted: " << yaml;
    EXPECT_EQ(j.status().code(), Status::Code::kInvalidArgument) << yaml;
  }
}

TEST(TaskJson, MalformedYamlIsInvalidArgument) {
  for (const std::string& yaml :
       {std::string("title: [unclosed\n"), std::string("a: b\n c: d\n: e\n"),
        std::string("title: \"open quote\n"), std::string("a:\n\t- tab indented\n"),
        std::string("? [a, b]\n: complex key\n")}) {
    auto j = TaskToJson(yaml);
    ASSERT_FALSE(j.ok()) << "accepted: " << yaml << " as " << (j.ok() ? j->dump() : "");
    EXPECT_EQ(j.status().code(), Status::Code::kInvalidArgument) << yaml;
  }
}

TEST(TaskJson, HostileYamlIsRefusedBeforeItIsWalked) {
  auto bomb = TaskToJson(taskfs::testing::YamlAliasBomb());
  ASSERT_FALSE(bomb.ok());
  EXPECT_EQ(bomb.status().code(), Status::Code::kInvalidArgument);

  auto big = TaskToJson("title: " + std::string(storage::kMaxTaskBytes, 'x') + "\n");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Status::Code::kTooLarge);

  std::string deep = "a: ";
  for (int i = 0; i < storage::kMaxTaskDepth + 5; ++i) deep += "[";
  for (int i = 0; i < storage::kMaxTaskDepth + 5; ++i) deep += "]";
  EXPECT_FALSE(TaskToJson(deep + "\n").ok());

  EXPECT_FALSE(TaskToJson("title: a\n---\ntitle: b\n").ok());     // two documents
  EXPECT_FALSE(TaskToJson(std::string("title: a\x01z\n")).ok());  // a control character
}

TEST(TaskJson, AnObjectBecomesBlockYamlInItsKeyOrder) {
  Json task = Json::object();
  task["title"] = "Write the report";
  task["tags"] = Json::array({"work", "urgent"});
  task["owner"] = Json::object({{"name", "Ada"}});
  task["aaa"] = "last";
  const std::string yaml = FromJsonOrDie(task);
  EXPECT_EQ(yaml,
            "title: Write the report\n"
            "tags:\n"
            "  - work\n"
            "  - urgent\n"
            "owner:\n"
            "  name: Ada\n"
            "aaa: last\n");
  EXPECT_EQ(ToJsonOrDie(yaml), task);
}

TEST(TaskJson, NumbersAndBooleansFromJsonBecomeTheirText) {
  const Json task = Json::parse(R"({"n": 5, "neg": -12, "f": 2.5, "yes": true, "no": false})");
  const std::string yaml = FromJsonOrDie(task);
  const Json back = ToJsonOrDie(yaml);
  EXPECT_EQ(back, Json::parse(R"({"n": "5", "neg": "-12", "f": "2.5", "yes": "true",
                                   "no": "false"})"))
      << yaml;
}

TEST(TaskJson, AwkwardStringsSurviveTheRoundTrip) {
  const std::vector<std::string> strings = {
      "",
      " leading space",
      "trailing space ",
      "a: b",
      "# not a comment",
      "- not a list",
      "[not, flow]",
      "{not: flow}",
      "null",
      "~",
      "Null",
      "true",
      "5",
      "-3.0",
      "line one\nline two",
      "ends with newline\n",
      "tab\there",
      "quote \" and ' both",
      "back\\slash",
      "Grüße, 日本語",
      "*alias",
      "&anchor",
      "!tag",
      "%directive",
      "@at",
      "`tick",
      "| literal",
      "> folded",
      "---",
      "...",
      "key: value # c",
      "?",
      ":",
      "-",
  };
  for (const std::string& s : strings) {
    Json task = Json::object();
    task["title"] = s;
    task[s.empty() ? "empty-key-stand-in" : s] = Json::array({s, Json::object({{"k", s}})});
    auto yaml = TaskFromJson(task);
    ASSERT_TRUE(yaml.ok()) << yaml.status().ToString() << " for " << s;
    auto back = TaskToJson(*yaml);
    ASSERT_TRUE(back.ok()) << back.status().ToString() << " for [" << s << "] as\n" << *yaml;
    EXPECT_EQ(*back, task) << "[" << s << "] as\n" << *yaml;
  }
}

TEST(TaskJson, AYamlRoundTripKeepsEveryValue) {
  const std::string yaml =
      "title: Plan the trip\n"
      "due: 2025-07-01\n"
      "steps:\n"
      "  - book: flights\n"
      "    by: \"2025-05-01\"\n"
      "  - [pack, go]\n"
      "notes: |\n"
      "  two\n"
      "  lines\n";
  const Json first = ToJsonOrDie(yaml);
  EXPECT_EQ(first["notes"], "two\nlines\n");
  EXPECT_EQ(first["steps"][1], Json::array({"pack", "go"}));
  EXPECT_EQ(ToJsonOrDie(FromJsonOrDie(first)), first);
}

TEST(TaskJson, AnEmptyObjectIsAnEmptyMapping) {
  const std::string yaml = FromJsonOrDie(Json::object());
  const Json back = ToJsonOrDie(yaml);
  EXPECT_TRUE(back.is_object());
  EXPECT_TRUE(back.empty()) << yaml;
}

TEST(TaskJson, OnlyAJsonObjectIsATask) {
  for (const Json& j : {Json::array({"a"}), Json("title"), Json(5), Json(true), Json(nullptr)}) {
    auto y = TaskFromJson(j);
    ASSERT_FALSE(y.ok()) << "accepted: " << j.dump();
    EXPECT_EQ(y.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(TaskJson, AValueATaskCannotKeepIsRefusedNotStoredChanged) {
  // A lone carriage return reads back as nothing (the emitter writes it bare); DEL is a control
  // character no task may hold.
  for (const char* value : {"x\r", "\r", "a\x7f" "b"}) {
    auto y = TaskFromJson(Json{{"title", value}});
    ASSERT_FALSE(y.ok()) << "accepted: " << Json(value).dump() << " as " << *y;
    EXPECT_EQ(y.status().code(), Status::Code::kInvalidArgument);
  }
  EXPECT_EQ(ToJsonOrDie(FromJsonOrDie(Json{{"title", "line\r\nnext"}}))["title"], "line\r\nnext")
      << "a CRLF is kept";
}

}  // namespace
}  // namespace taskfs::sync
