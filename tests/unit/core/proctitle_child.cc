// Helper of proctitle_test.cc: a process whose title the test sets and reads from outside.
//
//   proctitle_child auto|in-place [ARGS...]
//
// Reads lines from stdin; each line is a space-separated word list handed to
// core::proctitle_set(). After each, prints one line: "<method> <capacity> <$OMRT_PT>".
// Exits at end of input. The words never appear in its own argv, so a match of `pgrep -f`
// proves the title was set.
#include "core/proctitle.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char **argv)
{
    core::proctitle_init(argc, argv);
    if (argc < 2)
        return 2;
    core::proctitle_force_in_place(std::strcmp(argv[1], "in-place") == 0);
    char line[4096];
    while (std::fgets(line, sizeof(line), stdin)) {
        std::string s(line);
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
            s.pop_back();
        // "|" separates words, so that a word holding a space can be sent too.
        std::vector<std::string> words;
        size_t b = 0;
        while (b <= s.size()) {
            size_t e = s.find('|', b);
            if (e == std::string::npos)
                e = s.size();
            words.push_back(s.substr(b, e - b));
            b = e + 1;
        }
        core::ProcTitleMethod m = core::proctitle_set(words);
        const char *env = std::getenv("OMRT_PT");
        std::printf("%s %zu %s\n", core::proctitle_method_name(m),
                    core::proctitle_inplace_capacity(), env ? env : "(unset)");
        std::fflush(stdout);
    }
    return 0;
}
