// The UCI reader against libuci's file.c/list.c behaviour.
#include "config/uci.h"
#include "testutil.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

using cfg::Diag;
using cfg::UciOption;
using cfg::UciPackage;
using cfg::UciSection;

namespace {

struct Parsed {
    UciPackage pkg;
    std::vector<Diag> errors;
    bool ok = false;
};

Parsed parse(const std::string &text, const cfg::UciLimits &lim = cfg::UciLimits())
{
    Parsed p;
    p.ok = cfg::parse_uci(text, "/cfg/test", p.pkg, p.errors, lim);
    return p;
}

// The single value of option |opt| of section |sec|, or "<none>".
std::string val(const Parsed &p, const char *sec, const char *opt)
{
    const UciSection *s = p.pkg.find(sec);
    if (!s)
        return "<no section>";
    const UciOption *o = s->find(opt);
    if (!o)
        return "<none>";
    return o->is_list ? "<list:" + o->joined() + ">" : o->values[0];
}

// One error expected: its line and a piece of its message.
void expect_one_error(const Parsed &p, int line, const std::string &part)
{
    ASSERT_FALSE(p.ok);
    ASSERT_EQ(p.errors.size(), 1u) << cfgtest::all_diags(p.errors);
    EXPECT_EQ(p.errors[0].file, "/cfg/test");
    EXPECT_EQ(p.errors[0].line, line) << p.errors[0].format();
    EXPECT_NE(p.errors[0].message.find(part), std::string::npos) << p.errors[0].format();
}

TEST(Uci, SectionsOptionsListsAndLines)
{
    Parsed p = parse("package 'omr-tracker'\n"
                     "\n"
                     "config defaults 'defaults'\n"
                     "\toption enabled '1'\n"
                     "\tlist hosts '4.2.2.1'\n"
                     "\tlist hosts \"8.8.8.8\"\n"
                     "\n"
                     "config interface wan1\n"
                     "  option   timeout\t5\n");
    ASSERT_TRUE(p.ok) << cfgtest::all_diags(p.errors);
    ASSERT_EQ(p.pkg.sections.size(), 2u);
    const UciSection &d = p.pkg.sections[0];
    EXPECT_EQ(d.type, "defaults");
    EXPECT_EQ(d.name, "defaults");
    EXPECT_FALSE(d.anonymous);
    EXPECT_EQ(d.line, 3);
    ASSERT_EQ(d.options.size(), 2u);
    EXPECT_EQ(d.options[0].name, "enabled");
    EXPECT_FALSE(d.options[0].is_list);
    EXPECT_EQ(d.options[0].line, 4);
    const UciOption &h = d.options[1];
    EXPECT_TRUE(h.is_list);
    ASSERT_EQ(h.values.size(), 2u);
    EXPECT_EQ(h.values[1], "8.8.8.8");
    EXPECT_EQ(h.lines, (std::vector<int>{5, 6}));
    EXPECT_EQ(h.line, 5);
    EXPECT_EQ(h.joined(), "4.2.2.1 8.8.8.8");
    EXPECT_EQ(val(p, "wan1", "timeout"), "5");
    EXPECT_EQ(p.pkg.sections[1].line, 8);
    EXPECT_EQ(p.pkg.sections[1].label(), "interface 'wan1'");
    EXPECT_EQ(p.pkg.find("interface", "wan1"), &p.pkg.sections[1]);
    EXPECT_EQ(p.pkg.find("defaults", "wan1"), nullptr);
}

TEST(Uci, AnonymousSectionsGetLibuciNames)
{
    // `uci show firewall` on a stock OpenWrt: cfg01e63d=defaults, cfg02dc81=zone, ...
    Parsed p = parse("config defaults\nconfig zone\nconfig zone ''\nconfig rule 'named'\n"
                     "config forwarding\n");
    ASSERT_TRUE(p.ok) << cfgtest::all_diags(p.errors);
    ASSERT_EQ(p.pkg.sections.size(), 5u);
    EXPECT_EQ(p.pkg.sections[0].name, "cfg01e63d");
    EXPECT_TRUE(p.pkg.sections[0].anonymous);
    EXPECT_EQ(p.pkg.sections[1].name, "cfg02dc81");
    EXPECT_EQ(p.pkg.sections[2].name, "cfg03dc81");
    EXPECT_TRUE(p.pkg.sections[2].anonymous);
    EXPECT_FALSE(p.pkg.sections[3].anonymous);
    EXPECT_EQ(p.pkg.sections[4].name, "cfg05ad58"); // named sections count too
    EXPECT_EQ(p.pkg.sections[0].label(), "defaults 'cfg01e63d' (anonymous)");
    EXPECT_EQ(cfg::uci_anonymous_name(300, "zone"), "cfg12cdc81");
}

TEST(Uci, Quoting)
{
    Parsed p = parse("config t 's'\n"
                     "option single 'a\\b \"c\"'\n"
                     "option dbl \"a\\\"b\\\\c\\n 'd'\"\n"
                     "option cat 'a'\"b\"c\n"
                     "option mixed x'y z'\n"
                     "option esc a\\ b\n"
                     "option hash 'a#b'\n"
                     "option semi 'a;b'\n");
    ASSERT_TRUE(p.ok) << cfgtest::all_diags(p.errors);
    EXPECT_EQ(val(p, "s", "single"), "a\\b \"c\"");
    EXPECT_EQ(val(p, "s", "dbl"), "a\"b\\cn 'd'"); // "\n" is a literal n, as in libuci
    EXPECT_EQ(val(p, "s", "cat"), "abc");
    EXPECT_EQ(val(p, "s", "mixed"), "xy z");
    EXPECT_EQ(val(p, "s", "esc"), "a b");
    EXPECT_EQ(val(p, "s", "hash"), "a#b");
    EXPECT_EQ(val(p, "s", "semi"), "a;b");
}

TEST(Uci, Comments)
{
    Parsed p = parse("# header\n"
                     "   # indented comment\n"
                     "config t 's' # after a section\n"
                     "\toption a 'x' # after an option\n"
                     "\toption b y#z\n"
                     "\toption c 'q'#r\n"
                     "#option d 'no'\n"
                     "\toption e #nothing\n");
    ASSERT_TRUE(p.ok) << cfgtest::all_diags(p.errors);
    EXPECT_EQ(val(p, "s", "a"), "x");
    EXPECT_EQ(val(p, "s", "b"), "y"); // '#' starts a comment inside an unquoted token
    EXPECT_EQ(val(p, "s", "c"), "q");
    EXPECT_EQ(val(p, "s", "d"), "<none>");
    EXPECT_EQ(val(p, "s", "e"), "<none>"); // empty value: no option
}

TEST(Uci, LineContinuationAndMultiLineValues)
{
    Parsed p = parse("config t 's'\n"
                     "option joined abc\\\n"
                     "def\n"
                     "option multi 'line one\n"
                     "line two'\n"
                     "option dq \"x\\\n"
                     "y\"\n"
                     "option after 'z'\n");
    ASSERT_TRUE(p.ok) << cfgtest::all_diags(p.errors);
    EXPECT_EQ(val(p, "s", "joined"), "abcdef"); // nothing inserted at the join
    EXPECT_EQ(val(p, "s", "multi"), "line one\nline two");
    EXPECT_EQ(val(p, "s", "dq"), "xy");
    const UciSection *s = p.pkg.find("s");
    EXPECT_EQ(s->find("joined")->line, 2);
    EXPECT_EQ(s->find("multi")->line, 4);
    EXPECT_EQ(s->find("dq")->line, 6);
    EXPECT_EQ(s->find("after")->line, 8); // lines inside values are counted
}

TEST(Uci, ContinuationBeforeIndentedLineIsLibuciQuirk)
{
    // libuci joins the next line at the backslash; its leading blank then ends the
    // (empty) token and "b" is one argument too many.
    Parsed p = parse("config t 's'\noption a \\\n   b\n");
    expect_one_error(p, 3, "too many arguments");
}

TEST(Uci, CrLfLineEndings)
{
    Parsed p = parse("config t 's'\r\n\toption a 'x'\r\n\toption b long\\\r\nvalue\r\n"
                     "\toption c y\r\n");
    ASSERT_TRUE(p.ok) << cfgtest::all_diags(p.errors);
    EXPECT_EQ(val(p, "s", "a"), "x");
    EXPECT_EQ(val(p, "s", "b"), "longvalue");
    EXPECT_EQ(val(p, "s", "c"), "y");
}

TEST(Uci, SemicolonsAndAbbreviations)
{
    Parsed p = parse("c t 's'; o a 1; l b 2; l b 3\n"
                     "p 'pkg'\n"
                     "option c 4;\n");
    ASSERT_TRUE(p.ok) << cfgtest::all_diags(p.errors);
    EXPECT_EQ(val(p, "s", "a"), "1");
    EXPECT_EQ(val(p, "s", "b"), "<list:2 3>");
    EXPECT_EQ(val(p, "s", "c"), "4");
}

TEST(Uci, OptionReplacementAndListConversion)
{
    Parsed p = parse("config t 's'\n"
                     "option x 1\n"  // 2
                     "option y 1\n"  // 3
                     "option x 2\n"  // 4: replaces, moves last
                     "option y 1\n"  // 5: same value, stays
                     "option z a\n"  // 6
                     "list z b\n"    // 7: option -> list [a, b]
                     "list w 1\n"    // 8
                     "option w 9\n"  // 9: option replaces the list
                     "option y ''\n" // 10: empty: no-op
                     "option v ''\n" // 11: empty: not created
                     "list u ''\n"); // 12: an empty list item is kept
    ASSERT_TRUE(p.ok) << cfgtest::all_diags(p.errors);
    const UciSection *s = p.pkg.find("s");
    ASSERT_NE(s, nullptr);
    std::vector<std::string> order;
    for (const UciOption &o : s->options)
        order.push_back(o.name);
    EXPECT_EQ(order, (std::vector<std::string>{"y", "x", "z", "w", "u"}));
    EXPECT_EQ(val(p, "s", "x"), "2");
    EXPECT_EQ(s->find("x")->line, 4);
    EXPECT_EQ(val(p, "s", "y"), "1");
    EXPECT_EQ(s->find("y")->line, 3);
    const UciOption *z = s->find("z");
    ASSERT_TRUE(z->is_list);
    EXPECT_EQ(z->values, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(z->lines, (std::vector<int>{6, 7}));
    EXPECT_EQ(val(p, "s", "w"), "9");
    EXPECT_EQ(s->find("v"), nullptr);
    ASSERT_NE(s->find("u"), nullptr);
    EXPECT_EQ(s->find("u")->values, (std::vector<std::string>{""}));
}

TEST(Uci, SectionReopenedByName)
{
    Parsed p = parse("config interface 'wan1'\noption a 1\nconfig interface 'wan2'\n"
                     "config interface 'wan1'\noption b 2\noption a 3\n");
    ASSERT_TRUE(p.ok) << cfgtest::all_diags(p.errors);
    ASSERT_EQ(p.pkg.sections.size(), 2u);
    EXPECT_EQ(p.pkg.sections[0].name, "wan1");
    EXPECT_EQ(p.pkg.sections[0].line, 1);
    EXPECT_EQ(val(p, "wan1", "a"), "3");
    EXPECT_EQ(val(p, "wan1", "b"), "2");
}

TEST(Uci, SectionRedeclaredWithOtherType)
{
    Parsed p = parse("config interface 'wan1'\n\nconfig device 'wan1'\n");
    expect_one_error(p, 3, "redeclared with type 'device'");
    EXPECT_NE(p.errors[0].message.find("since line 1"), std::string::npos);
}

TEST(Uci, SyntaxErrorsWithLines)
{
    expect_one_error(parse("config t 's'\noption a 'x\noption b y\n"), 2,
                     "unterminated quote: the ' opened on this line");
    expect_one_error(parse("config t 's'\n\noption a \"x\n\n"), 3, "unterminated quote");
    expect_one_error(parse("# c\noption a b\n"), 2, "expected 'config' before 'option'");
    expect_one_error(parse("\nlist a b\n"), 2, "expected 'config' before 'list'");
    expect_one_error(parse("config interface 'a b'\n"), 1, "invalid section name 'a b'");
    expect_one_error(parse("config t 's'\noption wait-test 1\n"), 2,
                     "invalid option name 'wait-test'");
    expect_one_error(parse("config t 's'\n\toptoin a 1\n"), 2, "unknown statement 'optoin'");
    expect_one_error(parse("config t 's'\noption hosts 1.1.1.1 8.8.8.8\n"), 2,
                     "too many arguments: unexpected '8.8.8.8'");
    expect_one_error(parse("config\n"), 1, "'config' without a section type");
    expect_one_error(parse("config t 's'\noption\n"), 2, "'option' without a name");
    expect_one_error(parse("config t 's' extra\n"), 1, "too many arguments");
    expect_one_error(parse("config 'a\x01' 's'\n"), 1, "invalid section type 'a\\x01'");
    expect_one_error(parse("package 'a b'\n"), 1, "invalid package name");
    expect_one_error(parse(std::string("config t 's'\noption a 'x\0y'\n", 28)), 2, "NUL byte");
}

TEST(Uci, ErrorNamesSectionAndOption)
{
    Parsed p = parse("config interface 'wan1'\n\toption bad-name 1\n");
    ASSERT_EQ(p.errors.size(), 1u);
    EXPECT_EQ(p.errors[0].section, "interface 'wan1'");
    EXPECT_EQ(p.errors[0].option, "bad-name");
    EXPECT_EQ(p.errors[0].format(), "/cfg/test:2: interface 'wan1': option 'bad-name': invalid "
                                    "option name 'bad-name' (letters, digits and '_' only)");
}

TEST(Uci, AllErrorsCollectedAndParsingResumes)
{
    Parsed p = parse("option early 1\n"             // 1: before config
                     "config t 'a'\n"               // 2
                     "option x 1 2\n"               // 3: too many arguments
                     "config t 'b c'\n"             // 4: bad name
                     "option in_broken_section 1\n" // 5: silently skipped
                     "config t 'd'\n"               // 6
                     "option y ok\n"                // 7
                     "bogus\n"                      // 8
                     "option z 'open\n");           // 9: unterminated
    EXPECT_FALSE(p.ok);
    ASSERT_EQ(p.errors.size(), 5u) << cfgtest::all_diags(p.errors);
    std::vector<int> lines;
    for (const Diag &d : p.errors)
        lines.push_back(d.line);
    EXPECT_EQ(lines, (std::vector<int>{1, 3, 4, 8, 9}));
    EXPECT_EQ(val(p, "d", "y"), "ok");
    EXPECT_NE(p.pkg.find("a"), nullptr);
}

TEST(Uci, Limits)
{
    cfg::UciLimits lim;
    lim.max_file_bytes = 64;
    expect_one_error(parse(std::string(65, '#'), lim), 0, "file too large (65 bytes, limit 64)");

    lim = cfg::UciLimits();
    lim.max_value_bytes = 8;
    expect_one_error(parse("config t 's'\noption a '123456789'\n", lim), 2, "value too long");
    EXPECT_TRUE(parse("config t 's'\noption a '12345678'\n", lim).ok);

    lim = cfg::UciLimits();
    lim.max_sections = 3;
    expect_one_error(parse("config a\nconfig b\nconfig c\nconfig d\n", lim), 4,
                     "too many sections (limit 3)");

    lim = cfg::UciLimits();
    lim.max_list_values = 2;
    expect_one_error(parse("config t 's'\nlist a 1\nlist a 2\nlist a 3\n", lim), 4,
                     "too many values in list 'a' (limit 2)");

    lim = cfg::UciLimits();
    lim.max_options = 2;
    expect_one_error(parse("config t 's'\noption a 1\noption b 1\noption a 2\noption c 1\n", lim),
                     5, "too many options");
}

TEST(Uci, QuoteRoundTrip)
{
    for (std::string v : {"plain", "it's", "''", "a\\b", "multi\nline", "#hash", "a;b", " sp "}) {
        Parsed p = parse("config t 's'\noption v " + cfg::uci_quote(v) + "\n");
        ASSERT_TRUE(p.ok) << v << cfgtest::all_diags(p.errors);
        EXPECT_EQ(val(p, "s", "v"), v);
    }
    EXPECT_EQ(cfg::uci_quote("it's"), "'it'\\''s'");
}

TEST(Uci, NamesAndPrintableValues)
{
    EXPECT_TRUE(cfg::uci_valid_name("wan_1"));
    EXPECT_FALSE(cfg::uci_valid_name(""));
    EXPECT_FALSE(cfg::uci_valid_name("wan-1"));
    EXPECT_FALSE(cfg::uci_valid_name("a b"));
    EXPECT_EQ(cfg::printable_value("a\nb\tc\x7f"), "a\\nb\\tc\\x7f");
    EXPECT_LT(cfg::printable_value(std::string(1000, 'x')).size(), 100u);
}

// Garbage must never crash, hang or allocate without bound; a deterministic generator
// biased towards the characters the grammar cares about. (A libFuzzer target will
// call parse_uci the same way.)
TEST(Uci, SurvivesGarbage)
{
    static const char alphabet[] = "config option list package c o l p 'a\"\\#;\n\r\t x_1";
    uint32_t seed = 12345;
    auto rnd = [&seed]() {
        seed = seed * 1103515245u + 12345u;
        return seed >> 8;
    };
    for (int i = 0; i < 3000; i++) {
        std::string text;
        size_t len = rnd() % 200;
        for (size_t k = 0; k < len; k++)
            text += (rnd() % 16 == 0) ? char(rnd() & 0xff)
                                      : alphabet[rnd() % (sizeof(alphabet) - 1)];
        Parsed p = parse(text);
        for (const Diag &d : p.errors) {
            EXPECT_GE(d.line, 0);
            EXPECT_LE(d.line, int(len) + 1);
        }
    }
    // Every prefix of a valid file parses or fails cleanly.
    std::string good = cfgtest::read_text(OMRT_CONFIG_TESTDATA "/omr/omr-tracker");
    ASSERT_FALSE(good.empty());
    for (size_t n = 0; n <= good.size(); n += 7) {
        Parsed p = parse(good.substr(0, n));
        (void)p;
    }
    EXPECT_TRUE(parse(good).ok);
}

TEST(Uci, ReadFile)
{
    cfgtest::TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    UciPackage pkg;
    std::vector<Diag> errors;
    bool missing = false;
    EXPECT_FALSE(cfg::read_uci_file(dir.file("nope"), pkg, errors, &missing));
    EXPECT_TRUE(missing);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].format(), dir.file("nope") + ": file not found");

    errors.clear();
    EXPECT_FALSE(cfg::read_uci_file(dir.path(), pkg, errors, &missing));
    EXPECT_FALSE(missing);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].message.find("not a regular file"), std::string::npos);

    errors.clear();
    ASSERT_TRUE(dir.write("f", "config t 's'\n\toption a 'b'\n"));
    EXPECT_TRUE(cfg::read_uci_file(dir.file("f"), pkg, errors, &missing));
    EXPECT_EQ(pkg.path, dir.file("f"));
    ASSERT_EQ(pkg.sections.size(), 1u);

    cfg::UciLimits lim;
    lim.max_file_bytes = 10;
    EXPECT_FALSE(cfg::read_uci_file(dir.file("f"), pkg, errors, &missing, lim));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].message.find("larger than 10 bytes"), std::string::npos);
}

} // namespace
