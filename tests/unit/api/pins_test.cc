#include "api/pins.h"

#include "core/files.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

struct TempDir {
    std::string path;
    TempDir()
    {
        char t[] = "/tmp/omrt-api-pins-XXXXXX";
        path = mkdtemp(t);
    }
    ~TempDir()
    {
        std::string cmd = "rm -rf '" + path + "'";
        (void)std::system(cmd.c_str());
    }
};

api::Pin pin_of(uint8_t seed)
{
    api::Pin p;
    for (size_t i = 0; i < p.size(); i++)
        p[i] = uint8_t(seed + i);
    return p;
}

std::string read(const std::string &path)
{
    std::string s;
    EXPECT_TRUE(core::read_file(path, s, 1 << 16, nullptr));
    return s;
}

} // namespace

TEST(ApiPin, ParseFormats)
{
    api::Pin p{};
    const std::string hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    ASSERT_TRUE(api::parse_pin("sha256:" + hex, p));
    EXPECT_EQ(api::pin_to_string(p), "sha256:" + hex);
    api::Pin q{};
    ASSERT_TRUE(api::parse_pin(hex, q));
    EXPECT_EQ(p, q);
    ASSERT_TRUE(api::parse_pin("SHA256:9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:"
                               "2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A:08",
                               q) == false)
            << "prefix is case-sensitive";
    ASSERT_TRUE(api::parse_pin("sha256:9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:"
                               "2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A:08",
                               q));
    EXPECT_EQ(p, q);
    // curl's --pinnedpubkey form: base64 of the same 32 bytes.
    ASSERT_TRUE(api::parse_pin("sha256//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=", q));
    EXPECT_EQ(p, q);
    EXPECT_FALSE(api::parse_pin("sha256:" + hex.substr(2), p)) << "too short";
    EXPECT_FALSE(api::parse_pin("sha256:" + hex + "00", p)) << "too long";
    EXPECT_FALSE(api::parse_pin("sha256:" + hex.substr(1) + "g", p));
    EXPECT_FALSE(api::parse_pin("sha256//AAAA", p));
    EXPECT_FALSE(api::parse_pin("", p));
}

TEST(ApiPin, SpkiHashIsSha256)
{
    // SHA-256("abc"), FIPS 180-2 appendix B.1.
    api::Pin p = api::pin_of_spki(reinterpret_cast<const uint8_t *>("abc"), 3);
    EXPECT_EQ(api::pin_to_string(p),
              "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiPinStore, MissingFileIsEmptyThenRememberWritesAtomically)
{
    TempDir d;
    std::string f = d.path + "/pins";
    api::PinStore s(f);
    std::string err;
    ASSERT_TRUE(s.load(&err)) << err;
    EXPECT_TRUE(s.usable());
    EXPECT_EQ(s.size(), 0u);
    EXPECT_EQ(s.find("vps"), nullptr);
    ASSERT_TRUE(s.remember("vps", pin_of(1), &err)) << err;
    ASSERT_TRUE(s.remember("vps2", pin_of(2), &err)) << err;
    EXPECT_TRUE(s.remember("vps", pin_of(1), &err)) << "same pin again is fine";
    std::string text = read(f);
    EXPECT_NE(text.find("vps " + api::pin_to_string(pin_of(1)) + "\n"), std::string::npos);
    EXPECT_EQ(access((f + ".tmp").c_str(), F_OK), -1) << "no temporary left behind";
    struct stat st;
    ASSERT_EQ(stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    api::PinStore again(f);
    ASSERT_TRUE(again.load(&err)) << err;
    ASSERT_NE(again.find("vps"), nullptr);
    EXPECT_EQ(*again.find("vps"), pin_of(1));
    EXPECT_EQ(*again.find("vps2"), pin_of(2));
}

TEST(ApiPinStore, MismatchIsNotOverwritten)
{
    TempDir d;
    api::PinStore s(d.path + "/pins");
    std::string err;
    ASSERT_TRUE(s.load(&err));
    ASSERT_TRUE(s.remember("vps", pin_of(1), &err));
    EXPECT_FALSE(s.remember("vps", pin_of(9), &err));
    EXPECT_EQ(err, "a different pin is already stored");
    EXPECT_EQ(*s.find("vps"), pin_of(1));
    EXPECT_FALSE(s.remember("bad name", pin_of(3), &err));
    EXPECT_TRUE(s.forget("vps", &err));
    EXPECT_FALSE(s.forget("vps", &err));
    EXPECT_TRUE(s.remember("vps", pin_of(9), &err)) << "a forgotten pin can be learnt again";
}

TEST(ApiPinStore, CorruptFileMakesItUnusableAndIsKept)
{
    TempDir d;
    std::string f = d.path + "/pins";
    std::string corrupt =
            "# pins\nvps " + api::pin_to_string(pin_of(1)) + "\nother sha256:nothex\n";
    ASSERT_TRUE(core::write_file_atomic(f, corrupt, 0600, nullptr));
    api::PinStore s(f);
    std::string err;
    EXPECT_FALSE(s.load(&err));
    EXPECT_EQ(err, f + ":3: bad pin");
    EXPECT_FALSE(s.usable());
    EXPECT_EQ(s.problem(), err);
    ASSERT_NE(s.find("vps"), nullptr) << "the good lines still answer";
    EXPECT_FALSE(s.remember("new", pin_of(5), &err)) << "nothing new is trusted";
    EXPECT_EQ(read(f), corrupt) << "never rewritten";

    for (const std::string &bad :
         {std::string("vps\n"), "vps sha256:" + std::string(64, 'a') + " extra\n",
          "v/ps " + api::pin_to_string(pin_of(1)) + "\n",
          "a " + api::pin_to_string(pin_of(1)) + "\na " + api::pin_to_string(pin_of(2)) + "\n"}) {
        ASSERT_TRUE(core::write_file_atomic(f, bad, 0600, nullptr));
        api::PinStore t(f);
        EXPECT_FALSE(t.load(nullptr)) << bad;
        EXPECT_FALSE(t.usable());
    }
    // Too big to be ours.
    ASSERT_TRUE(core::write_file_atomic(f, std::string(api::PinStore::kMaxFileBytes + 1, '#'), 0600,
                                        nullptr));
    api::PinStore big(f);
    EXPECT_FALSE(big.load(&err));
    EXPECT_FALSE(big.usable());
}

TEST(ApiPinStore, MemoryOnly)
{
    api::PinStore s;
    ASSERT_TRUE(s.load(nullptr));
    ASSERT_TRUE(s.remember("vps", pin_of(4), nullptr));
    EXPECT_EQ(*s.find("vps"), pin_of(4));
}

TEST(ApiPinStore, UnwritableDirectoryKeepsThePinInMemory)
{
    api::PinStore s("/proc/omrt-no-such-dir/pins");
    ASSERT_TRUE(s.load(nullptr));
    std::string err;
    EXPECT_FALSE(s.remember("vps", pin_of(4), &err));
    EXPECT_NE(err.find("/proc/omrt-no-such-dir/pins"), std::string::npos) << err;
    ASSERT_NE(s.find("vps"), nullptr) << "enforced for this run anyway";
}
