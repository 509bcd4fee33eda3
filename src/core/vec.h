// Search, removal and sorting over the short vectors the daemon keeps (flights, lanes,
// WANs, a name's addresses, hook files, ...).
//
// They do what std::find_if, std::remove_if + erase and std::stable_sort do, with one plain
// loop each: libstdc++ unrolls its search loop four times and sorts with introsort, heap
// and merge code, which on MIPS16e costs more flash than the handful of elements these
// vectors hold is worth (DESIGN.md §14 "Code size").
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace core {

// Index of the first element |pred| accepts; v.size() when none does.
template <class T, class Pred>
size_t index_where(const std::vector<T> &v, Pred pred)
{
    size_t i = 0;
    while (i < v.size() && !pred(v[i]))
        i++;
    return i;
}

// The first element |pred| accepts, or nullptr.
template <class T, class Pred>
T *find_where(std::vector<T> &v, Pred pred)
{
    size_t i = index_where(v, pred);
    return i < v.size() ? &v[i] : nullptr;
}

// Removes the elements |pred| accepts, keeping the others in order; |pred| is called once
// per element, in order, so it may act on what it removes.
template <class T, class Pred>
void erase_where(std::vector<T> &v, Pred pred)
{
    size_t j = 0;
    for (size_t i = 0; i < v.size(); i++)
        if (!pred(v[i])) {
            if (i != j)
                v[j] = std::move(v[i]);
            j++;
        }
    v.erase(v.begin() + std::ptrdiff_t(j), v.end());
}

// Sorts |v| by |less|, stably: an insertion sort, quadratic, so for short vectors only.
template <class T, class Less>
void sort_small(std::vector<T> &v, Less less)
{
    for (size_t i = 1; i < v.size(); i++)
        for (size_t j = i; j > 0 && less(v[j], v[j - 1]); j--)
            std::swap(v[j], v[j - 1]);
}

} // namespace core
