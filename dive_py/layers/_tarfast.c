/* dive_py.layers._tarfast: the layer scanner's hot loop for plain tar members, in C.
 *
 * layer_tar._scan_members reads most members of a layer tar through an inline Python fast
 * path (~2.5 us a member); this module reads a run of the very same members in ~0.3 us each.
 * It takes only a strict subset of what that fast path takes -- a ustar or v7 header whose
 * numbers are plain octal digits, whose checksum is exact and whose name is already clean,
 * with its content wholly in the buffer -- and stops at the first other member, leaving it
 * (and everything after) to the Python code. Both therefore read every member the same way
 * (tests/test_scan_fast_path.py compares all three paths byte for byte). Optional: without
 * a compiler divepy runs the Python path alone.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include "../_slots.h"

#define BLOCK 512

/* Kind letter by tar type flag, for the members taken here (0: left to Python). */
static char fast_kind[256];

static void init_kinds(void)
{
    fast_kind['0'] = 'f';
    fast_kind[0] = 'f';
    fast_kind['7'] = 'f';
    fast_kind['1'] = 'h';
    fast_kind['2'] = 'l';
    fast_kind['3'] = 'c';
    fast_kind['4'] = 'b';
    fast_kind['5'] = 'd';
    fast_kind['6'] = 'p';
}

/* One or more octal digits, then only NUL or space to the end of the field; else 0. */
static int plain_octal(const unsigned char *field, Py_ssize_t width, int64_t *out)
{
    Py_ssize_t i = 0;
    int64_t value = 0;
    while (i < width && field[i] >= '0' && field[i] <= '7') {
        value = value * 8 + (field[i] - '0'); /* 12 digits at most: below 2^36 */
        i++;
    }
    if (i == 0)
        return 0;
    for (; i < width; i++)
        if (field[i] != 0 && field[i] != ' ')
            return 0;
    *out = value;
    return 1;
}

static Py_ssize_t field_length(const unsigned char *field, Py_ssize_t width)
{
    const unsigned char *nul = memchr(field, 0, (size_t)width);
    return nul ? nul - field : width;
}

/* The name as the Python fast path builds it (ustar prefix joined), in out; its length, or -1. */
static Py_ssize_t member_name(const unsigned char *block, unsigned char *out)
{
    Py_ssize_t length = field_length(block, 100), prefix = 0;
    if (block[345] && memcmp(block + 257, "ustar\0", 6) == 0) {
        prefix = field_length(block + 345, 155);
        memcpy(out, block + 345, (size_t)prefix);
        out[prefix++] = '/';
    }
    memcpy(out + prefix, block, (size_t)length);
    return prefix + length;
}

/* Clean already: not empty, not absolute, no leading dot, no "//" and no "/." (else Python cleans it). */
static int clean(const unsigned char *path, Py_ssize_t length)
{
    if (length == 0 || path[0] == '.' || path[0] == '/')
        return 0;
    for (Py_ssize_t i = 0; i + 1 < length; i++)
        if (path[i] == '/' && (path[i + 1] == '/' || path[i + 1] == '.'))
            return 0;
    return 1;
}

typedef struct {
    char *kinds;
    int64_t *sizes;
    uint32_t *modes;
    int64_t *uids;
    int64_t *gids;
    uint64_t *hashes;
} Rows;

static PyObject *rows_result(Py_ssize_t pos, int64_t total, Rows *rows, Py_ssize_t n)
{
    return Py_BuildValue(
        "nLy#y#y#y#y#y#", pos, (long long)total, rows->kinds, n, (char *)rows->sizes, n * 8,
        (char *)rows->modes, n * 4, (char *)rows->uids, n * 8, (char *)rows->gids, n * 8,
        (char *)rows->hashes, n * 8);
}

PyDoc_STRVAR(scan_run_doc,
"scan_run(buf, pos, xxh3, paths, links) -> (pos, size_total, kinds, sizes, modes, uids, gids, hashes)\n\n"
"Reads the plain members of buf from pos on; stops at the first member it leaves to the caller\n"
"(or the end of buf). Appends each path (bytes) to paths and each link target (str) to links by\n"
"row; returns where it stopped, the sum of the members' sizes and the other columns as packed\n"
"native integers (int64 sizes, uint32 modes, int64 uids and gids, uint64 hashes).");

static PyObject *scan_run(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    Py_buffer view;
    Py_ssize_t pos;
    if (nargs != 5 || !PyList_Check(args[3]) || !PyDict_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "scan_run(buf, pos, xxh3, paths, links)");
        return NULL;
    }
    pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *xxh3 = args[2], *paths = args[3], *links = args[4], *result = NULL;
    const unsigned char *buf = view.buf;
    Py_ssize_t end = view.len;
    Py_ssize_t room = pos >= 0 && end > pos ? (end - pos) / BLOCK : 0; /* a member takes a block at least */
    Rows rows = {0};
    int64_t total = 0;
    Py_ssize_t n = 0;
    rows.kinds = PyMem_Malloc(room + 1);
    rows.sizes = PyMem_Malloc(room * 8 + 8);
    rows.modes = PyMem_Malloc(room * 4 + 4);
    rows.uids = PyMem_Malloc(room * 8 + 8);
    rows.gids = PyMem_Malloc(room * 8 + 8);
    rows.hashes = PyMem_Malloc(room * 8 + 8);
    if (!rows.kinds || !rows.sizes || !rows.modes || !rows.uids || !rows.gids || !rows.hashes) {
        PyErr_NoMemory();
        goto done;
    }
    unsigned char name[256 + 1];
    while (pos >= 0 && end - pos >= BLOCK && n < room) {
        const unsigned char *block = buf + pos;
        char kind = fast_kind[block[156]];
        int64_t size, checksum, mode, uid, gid;
        if (!kind || !plain_octal(block + 124, 12, &size) || !plain_octal(block + 148, 8, &checksum))
            break;
        int64_t sum = 8 * ' ';
        for (int i = 0; i < BLOCK; i++)
            sum += (i >= 148 && i < 156) ? 0 : block[i];
        if (sum != checksum)
            break;
        Py_ssize_t length = member_name(block, name);
        unsigned char *path = name;
        if (length >= 2 && path[0] == '.' && path[1] == '/') {
            path += 2;
            length -= 2;
        }
        if (!clean(path, length))
            break;
        if (path[length - 1] == '/') {
            length--;
            if (kind == 'f')
                kind = 'd'; /* pre-POSIX tars mark folders by a trailing slash only */
        }
        if (!plain_octal(block + 100, 8, &mode) || !plain_octal(block + 108, 8, &uid) ||
            !plain_octal(block + 116, 8, &gid))
            break;
        Py_ssize_t content = pos + BLOCK, next = content;
        uint64_t digest = 0;
        if (kind == 'f') {
            next = content + ((size + BLOCK - 1) & ~(int64_t)(BLOCK - 1));
            if (next > end)
                break; /* runs past the buffer: the caller refills */
            PyObject *piece = PyMemoryView_FromMemory((char *)buf + content, size, PyBUF_READ);
            if (!piece)
                goto done;
            PyObject *hashed = PyObject_CallOneArg(xxh3, piece);
            Py_DECREF(piece);
            if (!hashed)
                goto done;
            digest = PyLong_AsUnsignedLongLong(hashed);
            Py_DECREF(hashed);
            if (digest == (uint64_t)-1 && PyErr_Occurred())
                goto done;
        }
        else if (kind == 'l' || kind == 'h') {
            PyObject *target = PyUnicode_DecodeUTF8(
                (const char *)block + 157, field_length(block + 157, 100), "surrogateescape");
            PyObject *row = target ? PyLong_FromSsize_t(PyList_GET_SIZE(paths)) : NULL;
            int failed = !row || PyDict_SetItem(links, row, target) < 0;
            Py_XDECREF(target);
            Py_XDECREF(row);
            if (failed)
                goto done;
        }
        PyObject *text = PyBytes_FromStringAndSize((const char *)path, length);
        if (!text || PyList_Append(paths, text) < 0) {
            Py_XDECREF(text);
            goto done;
        }
        Py_DECREF(text);
        rows.kinds[n] = kind;
        rows.sizes[n] = size;
        rows.modes[n] = (uint32_t)(mode & 07777);
        rows.uids[n] = uid;
        rows.gids[n] = gid;
        rows.hashes[n] = digest;
        n++;
        total += size;
        pos = next;
    }
    result = rows_result(pos, total, &rows, n);
done:
    PyMem_Free(rows.kinds);
    PyMem_Free(rows.sizes);
    PyMem_Free(rows.modes);
    PyMem_Free(rows.uids);
    PyMem_Free(rows.gids);
    PyMem_Free(rows.hashes);
    PyBuffer_Release(&view);
    return result;
}

/* One int object per distinct value (sizes, modes and owners repeat): the open-addressing table that the
 * Python path's {number: number} dict is. */
typedef struct {
    long long *keys;
    PyObject **values;
    Py_ssize_t mask, used;
} Ints;

static int ints_grow(Ints *ints)
{
    Py_ssize_t size = ints->values ? (ints->mask + 1) * 2 : 1024;
    long long *keys = PyMem_Calloc((size_t)size, sizeof(long long));
    PyObject **values = PyMem_Calloc((size_t)size, sizeof(PyObject *));
    if (keys == NULL || values == NULL) {
        PyMem_Free(keys);
        PyMem_Free(values);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; ints->values && i <= ints->mask; i++) {
        if (ints->values[i] == NULL)
            continue;
        Py_ssize_t at = (Py_ssize_t)(((unsigned long long)ints->keys[i] * 0x9E3779B97F4A7C15ull) >> 20) & (size - 1);
        while (values[at] != NULL)
            at = (at + 1) & (size - 1);
        keys[at] = ints->keys[i];
        values[at] = ints->values[i];
    }
    PyMem_Free(ints->keys);
    PyMem_Free(ints->values);
    ints->keys = keys;
    ints->values = values;
    ints->mask = size - 1;
    return 0;
}

/* A borrowed int object for `value`, the same one for every equal value. */
static PyObject *ints_get(Ints *ints, long long value)
{
    if ((ints->used + 1) * 2 > ints->mask + 1 && ints_grow(ints) < 0)
        return NULL;
    Py_ssize_t at = (Py_ssize_t)(((unsigned long long)value * 0x9E3779B97F4A7C15ull) >> 20) & ints->mask;
    while (ints->values[at] != NULL) {
        if (ints->keys[at] == value)
            return ints->values[at];
        at = (at + 1) & ints->mask;
    }
    PyObject *number = PyLong_FromLongLong(value);
    if (number == NULL)
        return NULL;
    ints->keys[at] = value;
    ints->values[at] = number;
    ints->used++;
    return number;
}

static void ints_free(Ints *ints)
{
    for (Py_ssize_t i = 0; ints->values && i <= ints->mask; i++)
        Py_XDECREF(ints->values[i]);
    PyMem_Free(ints->keys);
    PyMem_Free(ints->values);
}

enum { E_PATH, E_KIND, E_SIZE, E_MODE, E_UID, E_GID, E_LINK, E_HASH, ENTRY_SLOTS };
static const char *const entry_slots[ENTRY_SLOTS] = {"path", "kind", "size", "mode", "uid", "gid", "link", "hash"};

PyDoc_STRVAR(make_entries_doc,
"make_entries(paths, kinds, sizes, modes, uids, gids, hashes, entry_class) -> dict\n\n"
"Entries by path from a layer's columns (paths str, kinds one ASCII letter each, sizes/uids/gids int64, modes\n"
"uint32, hashes uint64), as FileEntry(path, kind, size, mode, uid, gid, \"\", hash) makes them, without running\n"
"__init__; one int object per distinct number. Links are set afterwards (few rows have one).");

static PyObject *make_entries(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 || !PyList_Check(args[0]) || !PyType_Check(args[7])) {
        PyErr_SetString(PyExc_TypeError, "make_entries(paths, kinds, sizes, modes, uids, gids, hashes, entry_class)");
        return NULL;
    }
    static const char *formats[6] = {"B", "q", "I", "q", "q", "Q"};
    static const Py_ssize_t itemsizes[6] = {1, 8, 4, 8, 8, 8};
    Py_buffer columns[6];
    int got = 0;
    PyObject *result = NULL, *empty = NULL;
    Ints ints = {NULL, NULL, 0, 0};
    Py_ssize_t offsets[ENTRY_SLOTS];
    PyTypeObject *type = (PyTypeObject *)args[7];
    Py_ssize_t count = PyList_GET_SIZE(args[0]);
    for (; got < 6; got++) {
        if (PyObject_GetBuffer(args[1 + got], &columns[got], got ? PyBUF_FORMAT : PyBUF_SIMPLE) < 0)
            goto done;
        if ((got && (columns[got].format == NULL || strcmp(columns[got].format, formats[got]) != 0)) ||
            columns[got].len != count * itemsizes[got]) {
            PyErr_Format(PyExc_ValueError, "make_entries: column %d is not %zd items of type %s", got + 1, count, formats[got]);
            got++;
            goto done;
        }
    }
    if (slot_offsets(type, entry_slots, offsets, ENTRY_SLOTS) < 0 || (empty = PyUnicode_New(0, 0)) == NULL ||
        (result = PyDict_New()) == NULL)
        goto done;
    const unsigned char *kinds = columns[0].buf;
    const long long *sizes = columns[1].buf, *uids = columns[3].buf, *gids = columns[4].buf;
    const uint32_t *modes = columns[2].buf;
    const unsigned long long *hashes = columns[5].buf;
    for (Py_ssize_t row = 0; row < count; row++) {
        PyObject *path = PyList_GET_ITEM(args[0], row);
        PyObject *kind = kinds[row] < 128 ? PyUnicode_FromOrdinal(kinds[row]) : NULL; /* a cached 1-letter str */
        PyObject *digest = kind ? PyLong_FromUnsignedLongLong(hashes[row]) : NULL;
        PyObject *values[ENTRY_SLOTS] = {path, kind, ints_get(&ints, sizes[row]), ints_get(&ints, modes[row]),
                                         ints_get(&ints, uids[row]), ints_get(&ints, gids[row]), empty, digest};
        PyObject *entry = NULL;
        if (kind == NULL && !PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "make_entries: a kind is not an ASCII letter");
        if (!PyErr_Occurred() && PyUnicode_Check(path))
            entry = new_with_slots(type, offsets, values, ENTRY_SLOTS);
        else if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "make_entries: paths must be str");
        Py_XDECREF(kind);
        Py_XDECREF(digest);
        if (entry == NULL || PyDict_SetItem(result, path, entry) < 0) {
            Py_XDECREF(entry);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(entry);
    }
done:
    for (int i = 0; i < got; i++)
        PyBuffer_Release(&columns[i]);
    Py_XDECREF(empty);
    ints_free(&ints);
    return result;
}

static PyMethodDef methods[] = {
    {"scan_run", (PyCFunction)(void (*)(void))scan_run, METH_FASTCALL, scan_run_doc},
    {"make_entries", (PyCFunction)(void (*)(void))make_entries, METH_FASTCALL, make_entries_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_tarfast", "The layer scanner's hot loop for plain tar members, in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__tarfast(void)
{
    init_kinds();
    return PyModule_Create(&module);
}
