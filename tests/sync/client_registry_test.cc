// The server's client registry: registering, revoking and rotating keys, who Admit() lets in
// and why not, and clients.json surviving a save and load (and refused when damaged).
#include "sync/server/client_registry.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "sync/transport/tls.h"
#include "tests/test_util.h"

namespace taskfs::sync {
namespace {

using taskfs::testing::ReadFile;
using taskfs::testing::TempDir;
using taskfs::testing::WriteFile;

// A fresh key pair's certificate, its public key and that key's fingerprint.
struct Key {
  std::string cert;
  std::string pub;
  std::string fingerprint;
};

Key NewKey(const std::string& name = "client") {
  auto id = MakeIdentity(name);
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  if (!id.ok()) return {};
  auto pub = PublicKeyPem(id->cert_pem);
  auto fp = KeyFingerprint(id->cert_pem);
  EXPECT_TRUE(pub.ok() && fp.ok());
  return {id->cert_pem, pub.ok() ? *pub : "", fp.ok() ? *fp : ""};
}

// The admitted name, or why not.
std::string Name(const Result<std::string>& admitted) {
  return admitted.ok() ? admitted.value() : "refused: " + admitted.status().ToString();
}

TEST(ClientRegistry, ARegisteredKeyIsAdmittedUnderItsName) {
  ClientRegistry r;
  const Key ada = NewKey("ada"), bob = NewKey("bob");
  ASSERT_TRUE(r.Register("ada", ada.pub, 100).ok());
  ASSERT_TRUE(r.Register("bob", bob.cert, 100).ok());  // a certificate does as well

  auto a = r.Admit(ada.fingerprint, 200);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, "ada");
  auto b = r.Admit(bob.fingerprint, 200);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, "bob");

  ASSERT_EQ(r.clients().size(), 2u);
  const ClientRecord& rec = r.clients()[1];
  EXPECT_EQ(rec.name, "bob");
  EXPECT_EQ(rec.registered, 100);
  EXPECT_EQ(rec.revoked, 0);
  ASSERT_EQ(rec.keys.size(), 1u);
  EXPECT_EQ(rec.keys[0].fingerprint, bob.fingerprint);
  // The certificate is kept as its public key only.
  EXPECT_EQ(rec.keys[0].public_key_pem, bob.pub);
  EXPECT_EQ(rec.keys[0].added, 100);
  EXPECT_EQ(rec.keys[0].expires, 0);
  EXPECT_EQ(r.ActiveNames(), (std::vector<std::string>{"ada", "bob"}));
}

TEST(ClientRegistry, AnUnknownKeyIsRefusedAndTheRefusalNamesIt) {
  ClientRegistry r;
  ASSERT_TRUE(r.Register("ada", NewKey().pub, 1).ok());
  const Key stranger = NewKey();
  auto res = r.Admit(stranger.fingerprint, 2);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Status::Code::kPermissionDenied);
  EXPECT_NE(res.status().message().find(stranger.fingerprint), std::string::npos)
      << res.status().message();
  EXPECT_EQ(ClientRegistry().Admit(stranger.fingerprint, 2).status().code(),
            Status::Code::kPermissionDenied);
  EXPECT_FALSE(r.Admit("", 2).ok());
}

TEST(ClientRegistry, ANameOrAKeyCanBeRegisteredOnlyOnce) {
  ClientRegistry r;
  const Key ada = NewKey(), other = NewKey();
  ASSERT_TRUE(r.Register("ada", ada.pub, 1).ok());
  EXPECT_EQ(r.Register("ada", other.pub, 2).code(), Status::Code::kAlreadyExists);
  // The same key again under another name, whether given as public key or certificate.
  EXPECT_EQ(r.Register("eve", ada.pub, 2).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(r.Register("eve", ada.cert, 2).code(), Status::Code::kAlreadyExists);
  ASSERT_EQ(r.clients().size(), 1u);
  EXPECT_EQ(r.clients()[0].keys[0].fingerprint, ada.fingerprint);
  EXPECT_EQ(Name(r.Admit(ada.fingerprint, 3)), "ada");
}

TEST(ClientRegistry, ARevokedClientsNameAndKeyAreNotReused) {
  ClientRegistry r;
  const Key ada = NewKey();
  ASSERT_TRUE(r.Register("ada", ada.pub, 1).ok());
  ASSERT_TRUE(r.Revoke("ada", 5).ok());
  EXPECT_EQ(r.Register("ada", NewKey().pub, 6).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(r.Register("ada2", ada.pub, 6).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(r.clients().size(), 1u);
}

TEST(ClientRegistry, RegisterRefusesAnEmptyNameAndWhatIsNotAPublicKey) {
  ClientRegistry r;
  EXPECT_EQ(r.Register("", NewKey().pub, 1).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.Register("ada", "", 1).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.Register("ada", "not a key", 1).code(), Status::Code::kInvalidArgument);
  const Key k = NewKey();
  // A PEM whose body was cut short.
  const std::string cut = k.pub.substr(0, k.pub.size() / 2) + "\n-----END PUBLIC KEY-----\n";
  EXPECT_EQ(r.Register("ada", cut, 1).code(), Status::Code::kInvalidArgument);
  // A private key is not what the admin registers.
  auto id = MakeIdentity("x");
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(r.Register("ada", id->key_pem, 1).ok());
  EXPECT_TRUE(r.clients().empty());
}

TEST(ClientRegistry, ARevokedClientIsRefusedButKeepsItsRecord) {
  ClientRegistry r;
  const Key ada = NewKey(), bob = NewKey();
  ASSERT_TRUE(r.Register("ada", ada.pub, 1).ok());
  ASSERT_TRUE(r.Register("bob", bob.pub, 1).ok());
  ASSERT_TRUE(r.Revoke("ada", 10).ok());

  auto res = r.Admit(ada.fingerprint, 11);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Status::Code::kPermissionDenied);
  EXPECT_NE(res.status().message().find("revoked"), std::string::npos) << res.status().message();
  EXPECT_EQ(Name(r.Admit(bob.fingerprint, 11)), "bob");
  EXPECT_EQ(r.ActiveNames(), std::vector<std::string>{"bob"});
  ASSERT_EQ(r.clients().size(), 2u);
  EXPECT_EQ(r.clients()[0].revoked, 10);

  // Revoking again is no error and keeps the first time.
  EXPECT_TRUE(r.Revoke("ada", 20).ok());
  EXPECT_EQ(r.clients()[0].revoked, 10);
}

TEST(ClientRegistry, RevokingOrRotatingAnUnknownClientIsNotFound) {
  ClientRegistry r;
  ASSERT_TRUE(r.Register("ada", NewKey().pub, 1).ok());
  EXPECT_EQ(r.Revoke("bob", 2).code(), Status::Code::kNotFound);
  EXPECT_EQ(r.Rotate("bob", NewKey().pub, 60, 2).code(), Status::Code::kNotFound);
  EXPECT_EQ(r.Revoke("", 2).code(), Status::Code::kNotFound);
  EXPECT_EQ(r.ActiveNames(), std::vector<std::string>{"ada"});
}

TEST(ClientRegistry, ARotatedOutKeyWorksUntilItsGracePeriodEnds) {
  ClientRegistry r;
  const Key old_key = NewKey(), new_key = NewKey();
  ASSERT_TRUE(r.Register("ada", old_key.pub, 100).ok());
  ASSERT_TRUE(r.Rotate("ada", new_key.pub, 50, 200).ok());

  EXPECT_EQ(Name(r.Admit(new_key.fingerprint, 200)), "ada");
  EXPECT_EQ(Name(r.Admit(old_key.fingerprint, 200)), "ada");
  EXPECT_EQ(Name(r.Admit(old_key.fingerprint, 249)), "ada");
  auto over = r.Admit(old_key.fingerprint, 250);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), Status::Code::kPermissionDenied);
  EXPECT_NE(over.status().message().find("rotated out"), std::string::npos)
      << over.status().message();
  EXPECT_EQ(Name(r.Admit(new_key.fingerprint, 1'000'000)), "ada");

  // Both keys stay listed, the old one with its end.
  ASSERT_EQ(r.clients().size(), 1u);
  const auto& keys = r.clients()[0].keys;
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].fingerprint, old_key.fingerprint);
  EXPECT_EQ(keys[0].expires, 250);
  EXPECT_EQ(keys[1].fingerprint, new_key.fingerprint);
  EXPECT_EQ(keys[1].added, 200);
  EXPECT_EQ(keys[1].expires, 0);
}

TEST(ClientRegistry, ARotationWithoutGraceRetiresTheOldKeyAtOnce) {
  ClientRegistry r;
  const Key old_key = NewKey(), new_key = NewKey();
  ASSERT_TRUE(r.Register("ada", old_key.pub, 100).ok());
  ASSERT_TRUE(r.Rotate("ada", new_key.cert, 0, 200).ok());
  EXPECT_EQ(r.Admit(old_key.fingerprint, 200).status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(Name(r.Admit(new_key.fingerprint, 200)), "ada");
}

TEST(ClientRegistry, ASecondRotationNeverLengthensAnEarlierGracePeriod) {
  ClientRegistry r;
  const Key k1 = NewKey(), k2 = NewKey(), k3 = NewKey();
  ASSERT_TRUE(r.Register("ada", k1.pub, 0).ok());
  ASSERT_TRUE(r.Rotate("ada", k2.pub, 100, 10).ok());   // k1 until 110
  ASSERT_TRUE(r.Rotate("ada", k3.pub, 1000, 20).ok());  // k2 until 1020; k1 still until 110
  const auto& keys = r.clients()[0].keys;
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].expires, 110);
  EXPECT_EQ(keys[1].expires, 1020);
  EXPECT_EQ(keys[2].expires, 0);
  EXPECT_FALSE(r.Admit(k1.fingerprint, 110).ok());
  EXPECT_EQ(Name(r.Admit(k2.fingerprint, 110)), "ada");
  EXPECT_FALSE(r.Admit(k2.fingerprint, 1020).ok());
  EXPECT_EQ(Name(r.Admit(k3.fingerprint, 1020)), "ada");

  // A short rotation shortens them all.
  const Key k4 = NewKey();
  ASSERT_TRUE(r.Rotate("ada", k4.pub, 5, 30).ok());
  EXPECT_EQ(r.clients()[0].keys[1].expires, 35);
  EXPECT_EQ(r.clients()[0].keys[2].expires, 35);
  EXPECT_EQ(r.clients()[0].keys[0].expires, 35);
}

TEST(ClientRegistry, RotateRefusesARevokedClientItsOwnKeyAndBadKeys) {
  ClientRegistry r;
  const Key ada = NewKey(), bob = NewKey();
  ASSERT_TRUE(r.Register("ada", ada.pub, 1).ok());
  ASSERT_TRUE(r.Register("bob", bob.pub, 1).ok());
  EXPECT_EQ(r.Rotate("ada", ada.cert, 60, 2).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(r.Rotate("ada", "garbage", 60, 2).code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(r.Revoke("bob", 3).ok());
  EXPECT_EQ(r.Rotate("bob", NewKey().pub, 60, 4).code(), Status::Code::kInvalidArgument);
  // None of that changed a key.
  ASSERT_EQ(r.clients()[0].keys.size(), 1u);
  EXPECT_EQ(r.clients()[0].keys[0].expires, 0);
  ASSERT_EQ(r.clients()[1].keys.size(), 1u);
  EXPECT_EQ(Name(r.Admit(ada.fingerprint, 1'000'000)), "ada");
}

TEST(ClientRegistry, RotatingToAnotherClientsKeyIsRefusedAndBothStayApart) {
  ClientRegistry r;
  const Key ada = NewKey(), bob = NewKey();
  ASSERT_TRUE(r.Register("ada", ada.pub, 1).ok());
  ASSERT_TRUE(r.Register("bob", bob.pub, 1).ok());
  EXPECT_EQ(r.Rotate("ada", bob.pub, 60, 2).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(Name(r.Admit(bob.fingerprint, 3)), "bob");
  ASSERT_TRUE(r.Revoke("bob", 4).ok());
  EXPECT_EQ(r.Admit(bob.fingerprint, 5).status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(Name(r.Admit(ada.fingerprint, 1'000'000)), "ada");
}

TEST(ClientRegistry, ARefusedRotationLeavesTheGracePeriodsAsTheyWere) {
  ClientRegistry r;
  const Key k1 = NewKey(), k2 = NewKey();
  ASSERT_TRUE(r.Register("ada", k1.pub, 0).ok());
  ASSERT_TRUE(r.Rotate("ada", k2.pub, 1000, 0).ok());  // k1 until 1000
  EXPECT_EQ(r.Rotate("ada", k2.pub, 0, 5).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(r.clients()[0].keys[0].expires, 1000);
  EXPECT_EQ(Name(r.Admit(k1.fingerprint, 6)), "ada");
}

TEST(ClientRegistry, SaveAndLoadKeepEveryRecordInAnOwnerOnlyFile) {
  TempDir dir;
  const std::string file = dir / "clients.json";
  ClientRegistry r;
  const Key ada = NewKey(), ada2 = NewKey(), bob = NewKey();
  ASSERT_TRUE(r.Register("ada", ada.pub, 100).ok());
  ASSERT_TRUE(r.Register("bob", bob.pub, 101).ok());
  ASSERT_TRUE(r.Rotate("ada", ada2.pub, 60, 200).ok());
  ASSERT_TRUE(r.Revoke("bob", 300).ok());
  ASSERT_TRUE(r.Save(file).ok());

  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_TRUE(CheckSecretFile(file).ok());

  auto loaded = ClientRegistry::Load(file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const auto& c = loaded->clients();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].name, "ada");
  EXPECT_EQ(c[0].registered, 100);
  EXPECT_EQ(c[0].revoked, 0);
  ASSERT_EQ(c[0].keys.size(), 2u);
  EXPECT_EQ(c[0].keys[0].fingerprint, ada.fingerprint);
  EXPECT_EQ(c[0].keys[0].public_key_pem, ada.pub);
  EXPECT_EQ(c[0].keys[0].added, 100);
  EXPECT_EQ(c[0].keys[0].expires, 260);
  EXPECT_EQ(c[0].keys[1].fingerprint, ada2.fingerprint);
  EXPECT_EQ(c[1].name, "bob");
  EXPECT_EQ(c[1].revoked, 300);
  EXPECT_EQ(Name(loaded->Admit(ada.fingerprint, 259)), "ada");
  EXPECT_FALSE(loaded->Admit(ada.fingerprint, 260).ok());
  EXPECT_FALSE(loaded->Admit(bob.fingerprint, 301).ok());
  EXPECT_EQ(loaded->ActiveNames(), std::vector<std::string>{"ada"});

  // Saving what was loaded writes the same file.
  const std::string first = ReadFile(file);
  ASSERT_TRUE(loaded->Save(file).ok());
  EXPECT_EQ(ReadFile(file), first);
}

TEST(ClientRegistry, AMissingFileIsAnEmptyRegistry) {
  TempDir dir;
  auto r = ClientRegistry::Load(dir / "clients.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->clients().empty());
  EXPECT_TRUE(r->ActiveNames().empty());
  EXPECT_FALSE(taskfs::testing::Exists(dir / "clients.json"));
}

TEST(ClientRegistry, ADamagedFileIsCorruptionNotAnEmptyRegistry) {
  TempDir dir;
  const std::string file = dir / "clients.json";
  ClientRegistry good;
  ASSERT_TRUE(good.Register("ada", NewKey().pub, 1).ok());
  ASSERT_TRUE(good.Save(file).ok());
  const std::string text = ReadFile(file);

  const std::vector<std::string> damaged = {
      "",
      "not json",
      text.substr(0, text.size() / 2),  // torn write
      "{}",
      "[]",
      R"({"client": []})",
      R"({"clients": {}})",
      R"({"clients": null})",
      R"({"clients": [{"name": 5}]})",
      R"({"clients": [{"name": "ada", "keys": "sha256:00"}]})",
      R"({"clients": [{"name": "ada", "registered": "yesterday"}]})",
      R"({"clients": [{"name": "ada", "keys": [{"fingerprint": "sha256:00", "expires": []}]}]})",
  };
  for (const std::string& content : damaged) {
    WriteFile(file, content);
    auto r = ClientRegistry::Load(file);
    ASSERT_FALSE(r.ok()) << "loaded: " << content;
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << content;
    EXPECT_NE(r.status().message().find(file), std::string::npos) << r.status().message();
  }
}

TEST(ClientRegistry, FieldsMissingFromARecordTakeTheirDefaults) {
  TempDir dir;
  const std::string file = dir / "clients.json";
  WriteFile(file, R"({"clients": [{"name": "ada", "keys": [{"fingerprint": "sha256:ab"}]}]})");
  auto r = ClientRegistry::Load(file);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->clients().size(), 1u);
  EXPECT_EQ(r->clients()[0].revoked, 0);
  ASSERT_EQ(r->clients()[0].keys.size(), 1u);
  EXPECT_EQ(r->clients()[0].keys[0].expires, 0);
  EXPECT_EQ(Name(r->Admit("sha256:ab", 1'000'000)), "ada");
}

}  // namespace
}  // namespace taskfs::sync
