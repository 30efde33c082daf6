/* dive_py.layers._tarfast: the layer scanner's hot loop over tar members, and a layer's entries made from its
 * columns (make_entries, at the end), in C.
 *
 * scan._scan_members reads every member of a layer tar through one Python reader
 * (TarReader.next, then _add_member; ~5 us a member); this module reads runs of the very same
 * members in ~0.3 us each (handed the reader's buffer by TarReader.run_members). It takes a
 * ustar or v7 header whose numbers are plain octal digits, whose checksum is exact and whose
 * name is already clean, with its content wholly in the buffer, and those behind PAX 'x'
 * records or GNU 'L'/'K' long names and links (a tenth of the members of a source-tree layer)
 * or with a dot-file part; it reads each as the Python reader does and stops at the first
 * member it might read otherwise or that Python refuses, leaving it (and everything after) to
 * Python (tests/layers/test_scan_fast_path.py and test_tarfast_extensions.py compare both ways
 * byte for byte). Optional: without a compiler divepy runs the Python reader alone.
 *
 * Its arguments are checked before use: the tar a byte buffer, the columns typed (dive_py/_buffers.h), the
 * paths exact str, the entry class one with exactly FileEntry's slots (dive_py/_slots.h); a mistake raises
 * TypeError or ValueError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include "../_slots.h"
#include "../_buffers.h"

#define BLOCK 512
#define EXTENSION_LIMIT (1 << 20) /* headers.EXTENSION_LIMIT: one extended header, and those of one member */

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

/* The name as TarReader.next builds it from the header (ustar prefix joined), in out; its length. */
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

/* Whether a path (a "./" already dropped) is one clean_member_path returns as it is, less a trailing
 * slash: no empty, "." or ".." part, not absolute, no NUL, and not a whiteout (a base starting ".wh.").
 * Sets *length to the path without its trailing slash, *slash when there was one, and *dotted when a
 * part starts with a dot (Python's clean_member_path reads such names; they must be UTF-8 here). */
static int clean(const unsigned char *path, Py_ssize_t *length, int *slash, int *dotted)
{
    Py_ssize_t size = *length;
    *slash = size > 0 && path[size - 1] == '/';
    size -= *slash;
    if (size == 0 || memchr(path, 0, (size_t)size))
        return 0;
    *dotted = 0;
    Py_ssize_t part = 0; /* where the current part starts */
    for (Py_ssize_t i = 0; i <= size; i++) {
        if (i < size && path[i] != '/')
            continue;
        Py_ssize_t width = i - part;
        if (width == 0)
            return 0;
        if (path[part] == '.') {
            if (width == 1 || (width == 2 && path[part + 1] == '.'))
                return 0;
            if (i == size && width >= 4 && memcmp(path + part, ".wh.", 4) == 0)
                return 0;
            *dotted = 1;
        }
        part = i + 1;
    }
    *length = size;
    return 1;
}

/* Whether bytes are valid UTF-8 as Python's strict decoder reads them (clean_member_path's test). */
static int utf8_ok(const unsigned char *text, Py_ssize_t length)
{
    Py_ssize_t i = 0;
    while (i < length && text[i] < 0x80)
        i++;
    if (i == length)
        return 1;
    PyObject *decoded = PyUnicode_DecodeUTF8((const char *)text, length, NULL);
    if (!decoded) {
        PyErr_Clear(); /* the Python path raises its own error for this member */
        return 0;
    }
    Py_DECREF(decoded);
    return 1;
}

static int64_t header_sum(const unsigned char *block)
{
    int64_t sum = 8 * ' ';
    for (int i = 0; i < BLOCK; i++)
        sum += (i >= 148 && i < 156) ? 0 : block[i];
    return sum;
}

/* What a member's extension headers set (PAX 'x' records, GNU 'L' long name, 'K' long link). */
typedef struct {
    const unsigned char *gnu_name, *gnu_link, *pax_path, *pax_link;
    Py_ssize_t gnu_name_length, gnu_link_length, pax_path_length, pax_link_length;
    int has_size, has_uid, has_gid;
    int64_t size, uid, gid;
} Extensions;

/* 1 to 18 decimal digits and nothing else: int() reads them alike and they fit the 64-bit columns. */
static int plain_decimal(const unsigned char *text, Py_ssize_t length, int64_t *out)
{
    int64_t value = 0;
    if (length < 1 || length > 18)
        return 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        value = value * 10 + (text[i] - '0');
    }
    *out = value;
    return 1;
}

static int is_key(const unsigned char *key, Py_ssize_t length, const char *name)
{
    return (size_t)length == strlen(name) && memcmp(key, name, (size_t)length) == 0;
}

/* Reads PAX records ("LEN key=value\n") as headers.parse_pax does and applies those TarReader.next
 * honours (path, linkpath, size, uid, gid; a later record wins). 0 at anything parse_pax rejects, a
 * number int() might read otherwise, or a GNU sparse map: the Python path reads (or refuses) those.
 * mtime is not read: a scan keeps no times. */
static int pax_records(const unsigned char *data, Py_ssize_t size, Extensions *ext)
{
    Py_ssize_t at = 0;
    while (at < size && data[at] != 0) {
        Py_ssize_t digits = at;
        int64_t length = 0;
        while (digits < size && digits - at < 9 && data[digits] >= '0' && data[digits] <= '9')
            length = length * 10 + (data[digits++] - '0');
        if (digits == at || digits >= size || data[digits] != ' ' || length <= 0 || length > size - at)
            return 0;
        /* As parse_pax: the record runs to the byte before its end, whatever that byte is. */
        const unsigned char *key = data + digits + 1, *stop = data + at + length - 1;
        if (stop <= key)
            return 0;
        const unsigned char *equals = memchr(key, '=', (size_t)(stop - key));
        if (!equals)
            return 0;
        Py_ssize_t key_length = equals - key, value_length = stop - equals - 1;
        const unsigned char *value = equals + 1;
        if (is_key(key, key_length, "path")) {
            ext->pax_path = value;
            ext->pax_path_length = value_length;
        }
        else if (is_key(key, key_length, "linkpath")) {
            ext->pax_link = value;
            ext->pax_link_length = value_length;
        }
        else if (is_key(key, key_length, "size")) {
            if (!plain_decimal(value, value_length, &ext->size))
                return 0;
            ext->has_size = 1;
        }
        else if (is_key(key, key_length, "uid")) {
            if (!plain_decimal(value, value_length, &ext->uid))
                return 0;
            ext->has_uid = 1;
        }
        else if (is_key(key, key_length, "gid")) {
            if (!plain_decimal(value, value_length, &ext->gid))
                return 0;
            ext->has_gid = 1;
        }
        else if (key_length >= 11 && memcmp(key, "GNU.sparse.", 11) == 0)
            return 0;
        at += (Py_ssize_t)length;
    }
    return 1;
}

/* A view into buf lives only while buf is held: if the hasher kept it (or its error's traceback does), it is
 * released, so that it raises instead of reading freed memory. -1 with an error set (the hasher's, or
 * BufferError when the view cannot be released). */
static int release_kept(PyObject *view)
{
    if (Py_REFCNT(view) == 1)
        return PyErr_Occurred() ? -1 : 0;
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyObject *released = PyObject_CallMethod(view, "release", NULL);
    Py_XDECREF(released);
    if (type != NULL) {
        PyErr_Clear();
        PyErr_Restore(type, value, traceback);
        return -1;
    }
    return released == NULL ? -1 : 0;
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
"Reads the plain members of buf from pos on (with their PAX and GNU long-name headers); stops at\n"
"the first member it leaves to the caller (or the end of buf). Appends each path (bytes) to paths\n"
"and each link target (str) to links by row; returns where it stopped, the sum of the members'\n"
"sizes and the other columns as packed native integers (int64 sizes, uint32 modes, int64 uids\n"
"and gids, uint64 hashes).");

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
    if (!PyCallable_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "scan_run: xxh3 must be callable");
        return NULL;
    }
    if (get_column(args[0], &view, 0, 'u', 1, "scan_run: buf") < 0)
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
        /* A member is its extension headers (if any) and its own header; each must be plain and
         * wholly in buf, else the run stops at the member's first header. */
        Extensions ext = {0};
        const unsigned char *block;
        Py_ssize_t at = pos;
        int64_t extensions = 0; /* bytes of this member's extended headers */
        int64_t size, checksum, mode, uid, gid;
        for (;;) {
            block = buf + at;
            if (end - at < BLOCK || !plain_octal(block + 124, 12, &size) ||
                !plain_octal(block + 148, 8, &checksum) || header_sum(block) != checksum)
                goto stop;
            unsigned char type = block[156];
            if (type != 'x' && type != 'L' && type != 'K')
                break;
            Py_ssize_t payload = at + BLOCK, padded = (Py_ssize_t)((size + BLOCK - 1) & ~(int64_t)(BLOCK - 1));
            extensions += size;
            if (size > EXTENSION_LIMIT || extensions > EXTENSION_LIMIT || padded > end - payload)
                goto stop; /* TarReader refuses it, refills or reports the truncation */
            if (type == 'x') {
                if (!pax_records(buf + payload, (Py_ssize_t)size, &ext))
                    goto stop;
            }
            else if (type == 'L') {
                ext.gnu_name = buf + payload; /* TarReader cuts it at the first NUL, as here */
                ext.gnu_name_length = field_length(buf + payload, (Py_ssize_t)size);
            }
            else {
                ext.gnu_link = buf + payload;
                ext.gnu_link_length = field_length(buf + payload, (Py_ssize_t)size);
            }
            at = payload + padded;
        }
        char kind = fast_kind[block[156]];
        if (!kind)
            goto stop;
        /* Whether _add_member cleans the name with clean_member_path (which refuses one not UTF-8 at
         * once) rather than keeping it as it is (LayerColumns.finish checks UTF-8 at the end). */
        int general = at != pos;
        const unsigned char *path = name;
        Py_ssize_t length;
        if (ext.pax_path) {
            path = ext.pax_path;
            length = ext.pax_path_length;
        }
        else if (ext.gnu_name) {
            path = ext.gnu_name;
            length = ext.gnu_name_length;
        }
        else
            length = member_name(block, name);
        if (length >= 2 && path[0] == '.' && path[1] == '/') {
            path += 2;
            length -= 2;
        }
        int slash, dotted;
        if (!clean(path, &length, &slash, &dotted))
            goto stop;
        general |= dotted;
        if (general && !utf8_ok(path, length))
            goto stop; /* clean_member_path raises at this member */
        if (!plain_octal(block + 100, 8, &mode) || !plain_octal(block + 108, 8, &uid) ||
            !plain_octal(block + 116, 8, &gid))
            goto stop;
        if (ext.has_size)
            size = ext.size;
        if (size > INT64_MAX - total)
            goto stop; /* sizes a header claims (not held by buf: a link's, a folder's) past int64: Python's sum */
        if (ext.has_uid)
            uid = ext.uid;
        if (ext.has_gid)
            gid = ext.gid;
        Py_ssize_t content = at + BLOCK, next = content;
        uint64_t digest = 0;
        /* A regular member named with a trailing slash is a folder (pre-POSIX tars); its content is
         * skipped, as TarReader skips it. */
        int has_content = kind == 'f';
        if (slash && kind == 'f')
            kind = 'd';
        if (has_content) {
            if (size > end - content)
                goto stop; /* runs past the buffer: the caller refills */
            next = content + (Py_ssize_t)((size + BLOCK - 1) & ~(int64_t)(BLOCK - 1));
            if (next > end)
                goto stop;
        }
        if (kind == 'f') {
            PyObject *piece = PyMemoryView_FromMemory((char *)buf + content, size, PyBUF_READ);
            if (!piece)
                goto done;
            PyObject *hashed = PyObject_CallOneArg(xxh3, piece);
            if (release_kept(piece) < 0)
                Py_CLEAR(hashed);
            Py_DECREF(piece);
            if (!hashed)
                goto done;
            digest = PyLong_AsUnsignedLongLong(hashed);
            Py_DECREF(hashed);
            if (digest == (uint64_t)-1 && PyErr_Occurred())
                goto done;
        }
        else if (kind == 'l' || kind == 'h') {
            const unsigned char *target = block + 157;
            Py_ssize_t target_length = field_length(target, 100);
            if (ext.pax_link) {
                target = ext.pax_link;
                target_length = ext.pax_link_length;
            }
            else if (ext.gnu_link) {
                target = ext.gnu_link;
                target_length = ext.gnu_link_length;
            }
            /* An empty target is not kept (as LayerColumns.append keeps none). */
            if (target_length) {
                PyObject *link = PyUnicode_DecodeUTF8((const char *)target, target_length, "surrogateescape");
                PyObject *row = link ? PyLong_FromSsize_t(PyList_GET_SIZE(paths)) : NULL;
                int failed = !row || PyDict_SetItem(links, row, link) < 0;
                Py_XDECREF(link);
                Py_XDECREF(row);
                if (failed)
                    goto done;
            }
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
stop:
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
    static const char kinds_of[6] = {'u', 'i', 'u', 'i', 'i', 'u'}, *names[6] = {"B", "q", "I", "q", "q", "Q"};
    static const Py_ssize_t itemsizes[6] = {1, 8, 4, 8, 8, 8};
    Py_buffer columns[6];
    char what[40];
    int got = 0;
    PyObject *result = NULL, *empty = NULL;
    Ints ints = {NULL, NULL, 0, 0};
    Py_ssize_t offsets[ENTRY_SLOTS];
    PyTypeObject *type = (PyTypeObject *)args[7];
    Py_ssize_t count = PyList_GET_SIZE(args[0]);
    for (; got < 6; got++) {
        PyOS_snprintf(what, sizeof(what), "make_entries: column %d", got + 1);
        if (get_column(args[1 + got], &columns[got], 0, kinds_of[got], itemsizes[got], what) < 0)
            goto done;
        if (columns[got].len != count * itemsizes[got]) {
            PyErr_Format(PyExc_ValueError, "make_entries: column %d is not %zd items of type %s", got + 1, count, names[got]);
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
        if (row >= PyList_GET_SIZE(args[0])) { /* a finalizer run by the collector changed the list */
            PyErr_SetString(PyExc_RuntimeError, "make_entries: paths changed size");
            Py_CLEAR(result);
            goto done;
        }
        PyObject *path = PyList_GET_ITEM(args[0], row);
        Py_INCREF(path); /* the object's allocation may run the collector, and finalizers with it */
        PyObject *kind = kinds[row] < 128 ? PyUnicode_FromOrdinal(kinds[row]) : NULL; /* a cached 1-letter str */
        PyObject *digest = kind ? PyLong_FromUnsignedLongLong(hashes[row]) : NULL;
        PyObject *values[ENTRY_SLOTS] = {path, kind, ints_get(&ints, sizes[row]), ints_get(&ints, modes[row]),
                                         ints_get(&ints, uids[row]), ints_get(&ints, gids[row]), empty, digest};
        PyObject *entry = NULL;
        if (kind == NULL && !PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "make_entries: a kind is not an ASCII letter");
        if (!PyErr_Occurred() && PyUnicode_CheckExact(path)) /* a str subclass's __hash__ could change the list */
            entry = new_with_slots(type, offsets, values, ENTRY_SLOTS);
        else if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "make_entries: paths must be str");
        Py_XDECREF(kind);
        Py_XDECREF(digest);
        int failed = entry == NULL || PyDict_SetItem(result, path, entry) < 0;
        Py_DECREF(path);
        if (failed) {
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
    PyModuleDef_HEAD_INIT, "_tarfast", "The layer scanner's hot loop over tar members, and entries made from columns, in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__tarfast(void)
{
    init_kinds();
    return PyModule_Create(&module);
}
