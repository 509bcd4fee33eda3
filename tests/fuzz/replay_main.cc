// A main() for the fuzz targets when libFuzzer is not available (GCC builds): runs every
// file given, or every file of every directory given, through LLVMFuzzerTestOneInput once.
// With -DOMRT_SANITIZE=ON this replays the committed corpora (seeds and the inputs of past
// crashes) under ASan+UBSan; it does not generate new inputs.
#include "fuzz_util.h"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

bool read_file(const std::string &path, std::vector<uint8_t> &out)
{
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f)
        return false;
    out.clear();
    uint8_t buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
        out.insert(out.end(), buf, buf + n);
    bool ok = !std::ferror(f);
    std::fclose(f);
    return ok;
}

int run_one(const std::string &path, unsigned &count)
{
    std::vector<uint8_t> data;
    if (!read_file(path, data)) {
        std::fprintf(stderr, "replay: cannot read %s: %s\n", path.c_str(), std::strerror(errno));
        return 1;
    }
    // An exact-size heap copy, as libFuzzer passes it: a read past the end is caught.
    uint8_t *copy = static_cast<uint8_t *>(std::malloc(data.size() ? data.size() : 1));
    if (!data.empty())
        std::memcpy(copy, data.data(), data.size());
    LLVMFuzzerTestOneInput(copy, data.size());
    std::free(copy);
    count++;
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    unsigned count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        if (!arg.empty() && arg[0] == '-')
            continue; // libFuzzer flags passed by a common script
        struct stat st;
        if (stat(arg.c_str(), &st) < 0) {
            std::fprintf(stderr, "replay: %s: %s\n", arg.c_str(), std::strerror(errno));
            rc = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            rc |= run_one(arg, count);
            continue;
        }
        DIR *d = opendir(arg.c_str());
        if (!d) {
            rc = 1;
            continue;
        }
        std::vector<std::string> names;
        while (struct dirent *e = readdir(d))
            if (e->d_name[0] != '.')
                names.push_back(arg + "/" + e->d_name);
        closedir(d);
        for (const std::string &p : names) {
            struct stat fst;
            if (stat(p.c_str(), &fst) == 0 && S_ISREG(fst.st_mode))
                rc |= run_one(p, count);
        }
    }
    std::printf("replay: %u inputs executed\n", count);
    return rc;
}
