/* dive_py.trees._columns: the explorer's passes over every node's column, in C.
 *
 * At each layer it shows, the explorer needs every node's size (a folder's is the sum of the files
 * below it), the positions of the rows it shows, and (aggregated) a layer's codes written in place.
 * In Python each is a pass over every node (~0.1 s, ~0.03 s at 10^6 nodes: most of a layer switch
 * there); here 1-2 ms. Optional: without a compiler, dive_py.trees.passes does the same in Python
 * (tests/trees/test_columns.py compares both).
 *
 * Every column is taken with its format checked (dive_py/_buffers.h: int64 sizes, int32 positions, bytes), and
 * lengths against each other, so a caller's mistake raises TypeError or ValueError instead of reading past a
 * buffer or reading doubles as integers. The nodes the walks hold while Python code can run (a `children` or
 * `flat` that is a property) are strong references.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include "../_buffers.h"

/* *sum += value, unless the sum would not fit: then 1 and *sum as it was. */
static inline int add_overflows(int64_t *sum, int64_t value)
{
#if defined(__GNUC__) || defined(__clang__)
    int64_t result;
    if (__builtin_add_overflow(*sum, value, &result))
        return 1;
    *sum = result;
    return 0;
#else
    if (value > 0 ? *sum > INT64_MAX - value : *sum < INT64_MIN - value)
        return 1;
    *sum += value;
    return 0;
#endif
}

PyDoc_STRVAR(add_up_doc,
"add_up(values, parent[, kept])\n\n"
"Adds each node's value to its parent's, deepest first: values (int64, writable) in preorder,\n"
"parent (int32) the position of each node's parent (-1 for none; always before the node).\n"
"With kept (a byte per node), the values of the nodes it marks 0 count as 0.");

static PyObject *add_up(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 && nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "add_up(values, parent[, kept])");
        return NULL;
    }
    Py_buffer values, parent, kept = {0};
    if (get_column(args[0], &values, 1, 'i', 8, "add_up: values") < 0)
        return NULL;
    if (get_column(args[1], &parent, 0, 'i', 4, "add_up: parent") < 0) {
        PyBuffer_Release(&values);
        return NULL;
    }
    if (nargs == 3 && get_column(args[2], &kept, 0, 'u', 1, "add_up: kept") < 0) {
        PyBuffer_Release(&values);
        PyBuffer_Release(&parent);
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t count = values.len / 8;
    if (parent.len / 4 != count || (kept.obj != NULL && kept.len != count)) {
        PyErr_SetString(PyExc_ValueError, "add_up: int64 values, int32 parents (and kept bytes) of the same length");
        goto done;
    }
    int64_t *v = (int64_t *)values.buf;
    const int32_t *p = (const int32_t *)parent.buf;
    if (kept.obj != NULL) {
        const unsigned char *k = (const unsigned char *)kept.buf;
        for (Py_ssize_t pos = 0; pos < count; pos++)
            if (!k[pos])
                v[pos] = 0;
    }
    for (Py_ssize_t pos = count - 1; pos >= 0; pos--) {
        int32_t up = p[pos];
        if (up >= 0) {
            if (up >= pos) {
                PyErr_SetString(PyExc_ValueError, "add_up: a parent comes after its child");
                goto done;
            }
            /* Sizes an image claims (sparse files) can add up past int64: an error, as in the Python path. */
            if (add_overflows(&v[up], v[pos])) {
                PyErr_SetString(PyExc_OverflowError, "add_up: a sum does not fit in 64 bits");
                goto done;
            }
        }
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&values);
    PyBuffer_Release(&parent);
    if (kept.obj != NULL)
        PyBuffer_Release(&kept);
    return result;
}

PyDoc_STRVAR(set_positions_doc,
"set_positions(mask) -> bytes\n\n"
"The positions (native int32) of the nonzero bytes of mask, in order.");

static PyObject *set_positions(PyObject *self, PyObject *mask_object)
{
    Py_buffer mask;
    if (get_column(mask_object, &mask, 0, 'u', 1, "set_positions: mask") < 0)
        return NULL;
    const unsigned char *m = (const unsigned char *)mask.buf;
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < mask.len; i++)
        count += m[i] != 0;
    PyObject *out = NULL;
    if (mask.len > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "set_positions: more than 2^31 nodes");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, count * (Py_ssize_t)sizeof(int32_t));
    if (out == NULL)
        goto done;
    int32_t *p = (int32_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < mask.len; i++)
        if (m[i])
            *p++ = (int32_t)i;
done:
    PyBuffer_Release(&mask);
    return out;
}

PyDoc_STRVAR(scatter_doc,
"scatter(target, positions, values)\n\n"
"Sets target[positions[i]] = values[i] for each i: target a writable byte per node, positions int32,\n"
"values one byte each.");

static PyObject *scatter(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "scatter(target, positions, values)");
        return NULL;
    }
    Py_buffer target, positions, values;
    if (get_column(args[0], &target, 1, 'u', 1, "scatter: target") < 0)
        return NULL;
    if (get_column(args[1], &positions, 0, 'i', 4, "scatter: positions") < 0) {
        PyBuffer_Release(&target);
        return NULL;
    }
    if (get_column(args[2], &values, 0, 'u', 1, "scatter: values") < 0) {
        PyBuffer_Release(&target);
        PyBuffer_Release(&positions);
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t count = positions.len / 4;
    if (values.len != count) {
        PyErr_SetString(PyExc_ValueError, "scatter: int32 positions and one value byte each");
        goto done;
    }
    unsigned char *t = (unsigned char *)target.buf;
    const int32_t *p = (const int32_t *)positions.buf;
    const unsigned char *v = (const unsigned char *)values.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (p[i] < 0 || p[i] >= target.len) {
            PyErr_SetString(PyExc_IndexError, "scatter: position out of range");
            goto done;
        }
        t[p[i]] = v[i];
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&target);
    PyBuffer_Release(&positions);
    PyBuffer_Release(&values);
    return result;
}


/* A growable C array of n-byte items, for the outputs and the walk's stack. */
typedef struct {
    char *data;
    Py_ssize_t len, cap, item;
} Grow;

static int grow_push(Grow *g, const void *value)
{
    if (g->len == g->cap) {
        if (g->cap > PY_SSIZE_T_MAX / 2 / g->item) {
            PyErr_NoMemory();
            return -1;
        }
        Py_ssize_t cap = g->cap ? g->cap * 2 : 1024;
        char *data = PyMem_Realloc(g->data, (size_t)(cap * g->item));
        if (data == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        g->data = data;
        g->cap = cap;
    }
    memcpy(g->data + g->len * g->item, value, (size_t)g->item);
    g->len++;
    return 0;
}

typedef struct {
    PyObject *node; /* owned: reading `children` may run Python code that empties the dict holding it */
    int32_t parent;
    int32_t depth;
} Pending;

/* Pushes a node to visit, with a new reference to it. */
static int push_pending(Grow *stack, PyObject *node, int32_t parent, int32_t depth)
{
    Pending pending = {node, parent, depth};
    Py_INCREF(node);
    if (grow_push(stack, &pending) < 0) {
        Py_DECREF(node);
        return -1;
    }
    return 0;
}

/* Pushes the children of `node` (its `children` dict, or None) on the stack, last name first. */
static int push_children(Grow *stack, PyObject *node, PyObject *children_name, int32_t pos, int32_t depth)
{
    PyObject *children = PyObject_GetAttr(node, children_name);
    if (children == NULL)
        return -1;
    int status = 0;
    if (PyDict_Check(children) && PyDict_GET_SIZE(children) > 0) {
        if (depth > 65535) {
            PyErr_SetString(PyExc_OverflowError, "unsigned short is greater than maximum");
            Py_DECREF(children);
            return -1;
        }
        PyObject *names = PyDict_Keys(children);
        if (names == NULL || PyList_Sort(names) < 0) {
            Py_XDECREF(names);
            Py_DECREF(children);
            return -1;
        }
        for (Py_ssize_t i = PyList_GET_SIZE(names) - 1; i >= 0 && status == 0; i--) {
            PyObject *child = PyDict_GetItemWithError(children, PyList_GET_ITEM(names, i));
            if (child == NULL) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_KeyError, "preorder: a child vanished");
                status = -1;
                break;
            }
            status = push_pending(stack, child, pos, depth);
        }
        Py_DECREF(names);
    }
    Py_DECREF(children);
    return status;
}

PyDoc_STRVAR(preorder_doc,
"preorder(tops) -> (nodes, parent, depth)\n\n"
"The preorder below the nodes `tops` (in order), children by name (their `children` dict, or None):\n"
"the nodes (list), each node's parent position (int32 bytes, -1 for the tops) and depth (uint16 bytes).");

static PyObject *preorder(PyObject *self, PyObject *tops)
{
    if (!PyList_Check(tops)) {
        PyErr_SetString(PyExc_TypeError, "preorder(tops): a list of nodes");
        return NULL;
    }
    PyObject *children_name = PyUnicode_InternFromString("children");
    PyObject *nodes = PyList_New(0);
    Grow stack = {NULL, 0, 0, sizeof(Pending)}, parents = {NULL, 0, 0, 4}, depths = {NULL, 0, 0, 2};
    PyObject *result = NULL;
    if (children_name == NULL || nodes == NULL)
        goto done;
    for (Py_ssize_t i = PyList_GET_SIZE(tops) - 1; i >= 0; i--)
        if (push_pending(&stack, PyList_GET_ITEM(tops, i), -1, 0) < 0)
            goto done;
    while (stack.len > 0) {
        Pending top = ((Pending *)stack.data)[--stack.len];
        if (PyList_GET_SIZE(nodes) >= INT32_MAX) {
            Py_DECREF(top.node);
            PyErr_SetString(PyExc_OverflowError, "preorder: more than 2^31 nodes");
            goto done;
        }
        int32_t pos = (int32_t)PyList_GET_SIZE(nodes);
        uint16_t depth = (uint16_t)top.depth;
        int failed = PyList_Append(nodes, top.node) < 0 || grow_push(&parents, &top.parent) < 0 ||
                     grow_push(&depths, &depth) < 0 || push_children(&stack, top.node, children_name, pos, top.depth + 1) < 0;
        Py_DECREF(top.node);
        if (failed)
            goto done;
    }
    result = Py_BuildValue("(Oy#y#)", nodes, parents.data ? parents.data : "", parents.len * 4,
                           depths.data ? depths.data : "", depths.len * 2);
done:
    Py_XDECREF(children_name);
    Py_XDECREF(nodes);
    for (Py_ssize_t i = 0; i < stack.len; i++)
        Py_DECREF(((Pending *)stack.data)[i].node);
    PyMem_Free(stack.data);
    PyMem_Free(parents.data);
    PyMem_Free(depths.data);
    return result;
}

PyDoc_STRVAR(layer_changes_doc,
"layer_changes(nodes, count) -> [(positions, entries, below, firsts), ...]\n\n"
"Per layer under `count`, the nodes it wrote or deleted, from each node's `flat` events (layer, entry, ...):\n"
"their positions in `nodes` (int32 bytes), the version written (None: deleted), the version below and\n"
"the version in layer 0.");

static PyObject *layer_changes(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "layer_changes(nodes, count)");
        return NULL;
    }
    PyObject *nodes = args[0];
    Py_ssize_t count = PyLong_AsSsize_t(args[1]);
    if (count < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "layer_changes: count must not be negative");
        return NULL;
    }
    PyObject *flat_name = PyUnicode_InternFromString("flat");
    Grow *positions = PyMem_Calloc((size_t)(count ? count : 1), sizeof(Grow));
    PyObject *lists = PyList_New(0); /* entries, below, firsts of layer 0, then of layer 1, ... */
    PyObject *result = NULL;
    if (positions == NULL)
        PyErr_NoMemory();
    if (flat_name == NULL || positions == NULL || lists == NULL)
        goto done;
    for (Py_ssize_t layer = 0; layer < count; layer++) {
        positions[layer].item = 4;
        for (int k = 0; k < 3; k++) {
            PyObject *list = PyList_New(0);
            if (list == NULL || PyList_Append(lists, list) < 0) {
                Py_XDECREF(list);
                goto done;
            }
            Py_DECREF(list);
        }
    }
    for (Py_ssize_t pos = 0; pos < PyList_GET_SIZE(nodes); pos++) {
        if (pos >= INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "layer_changes: more than 2^31 nodes");
            goto done;
        }
        PyObject *node = PyList_GET_ITEM(nodes, pos);
        Py_INCREF(node); /* a `flat` property may drop it from the list */
        PyObject *flat = PyObject_GetAttr(node, flat_name);
        Py_DECREF(node);
        if (flat == NULL)
            goto done;
        if (!PyTuple_Check(flat)) {
            Py_DECREF(flat);
            PyErr_SetString(PyExc_TypeError, "layer_changes: a node's flat must be a tuple");
            goto done;
        }
        Py_ssize_t size = PyTuple_GET_SIZE(flat);
        PyObject *prev = Py_None, *first = Py_None;
        if (size >= 2) {
            long at = PyLong_AsLong(PyTuple_GET_ITEM(flat, 0));
            if (at == -1 && PyErr_Occurred()) {
                Py_DECREF(flat);
                goto done;
            }
            if (at == 0)
                first = PyTuple_GET_ITEM(flat, 1);
        }
        for (Py_ssize_t i = 0; i + 1 < size; i += 2) {
            long layer = PyLong_AsLong(PyTuple_GET_ITEM(flat, i));
            PyObject *entry = PyTuple_GET_ITEM(flat, i + 1);
            if (layer == -1 && PyErr_Occurred()) {
                Py_DECREF(flat);
                goto done;
            }
            if (layer >= 0 && layer < count) {
                int32_t at = (int32_t)pos;
                if (grow_push(&positions[layer], &at) < 0 ||
                    PyList_Append(PyList_GET_ITEM(lists, 3 * layer), entry) < 0 ||
                    PyList_Append(PyList_GET_ITEM(lists, 3 * layer + 1), prev) < 0 ||
                    PyList_Append(PyList_GET_ITEM(lists, 3 * layer + 2), first) < 0) {
                    Py_DECREF(flat);
                    goto done;
                }
            }
            prev = entry;
        }
        Py_DECREF(flat);
    }
    result = PyList_New(count);
    if (result == NULL)
        goto done;
    for (Py_ssize_t layer = 0; layer < count; layer++) {
        Grow *g = &positions[layer];
        PyObject *item = Py_BuildValue("(y#OOO)", g->data ? g->data : "", g->len * 4, PyList_GET_ITEM(lists, 3 * layer),
                                       PyList_GET_ITEM(lists, 3 * layer + 1), PyList_GET_ITEM(lists, 3 * layer + 2));
        if (item == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, layer, item);
    }
done:
    Py_XDECREF(flat_name);
    Py_XDECREF(lists);
    if (positions != NULL) {
        for (Py_ssize_t layer = 0; layer < count; layer++)
            PyMem_Free(positions[layer].data);
        PyMem_Free(positions);
    }
    return result;
}

PyDoc_STRVAR(gather_doc,
"gather(table, ids) -> bytearray\n\n"
"table[ids[i]] for each i: ids int32, each a position in table (one byte each).");

static PyObject *gather(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "gather(table, ids)");
        return NULL;
    }
    Py_buffer table, ids;
    if (get_column(args[0], &table, 0, 'u', 1, "gather: table") < 0)
        return NULL;
    if (get_column(args[1], &ids, 0, 'i', 4, "gather: ids") < 0) {
        PyBuffer_Release(&table);
        return NULL;
    }
    Py_ssize_t count = ids.len / 4;
    PyObject *out = PyByteArray_FromStringAndSize(NULL, count);
    if (out == NULL)
        goto done;
    unsigned char *o = (unsigned char *)PyByteArray_AS_STRING(out);
    const unsigned char *t = (const unsigned char *)table.buf;
    const int32_t *id = (const int32_t *)ids.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (id[i] < 0 || id[i] >= table.len) {
            Py_CLEAR(out);
            PyErr_SetString(PyExc_IndexError, "gather: id out of range");
            goto done;
        }
        o[i] = t[id[i]];
    }
done:
    PyBuffer_Release(&table);
    PyBuffer_Release(&ids);
    return out;
}

/* The byte mask and the int32 parent column of one order, checked to be of one length. */
static int mask_and_parent(PyObject *const *args, Py_buffer *mask, Py_buffer *parent, const char *name)
{
    if (get_column(args[0], mask, 1, 'u', 1, name) < 0)
        return -1;
    if (get_column(args[1], parent, 0, 'i', 4, name) < 0) {
        PyBuffer_Release(mask);
        return -1;
    }
    if (parent->len / 4 != mask->len) {
        PyErr_Format(PyExc_ValueError, "%s: a byte per node and int32 parents of the same length", name);
        PyBuffer_Release(mask);
        PyBuffer_Release(parent);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(spread_down_doc,
"spread_down(mask, parent)\n\n"
"Marks (1) every node below a marked one, in place: mask a writable byte per node in preorder,\n"
"parent (int32) as for add_up.");

static PyObject *spread_down(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "spread_down(mask, parent)");
        return NULL;
    }
    Py_buffer mask, parent;
    if (mask_and_parent(args, &mask, &parent, "spread_down") < 0)
        return NULL;
    unsigned char *m = (unsigned char *)mask.buf;
    const int32_t *p = (const int32_t *)parent.buf;
    PyObject *result = NULL;
    for (Py_ssize_t pos = 0; pos < mask.len; pos++) {  /* a parent comes first, so it is final when read */
        int32_t up = p[pos];
        if (up >= pos) {
            PyErr_SetString(PyExc_ValueError, "spread_down: a parent comes after its child");
            goto done;
        }
        if (up >= 0 && !m[pos] && m[up])
            m[pos] = 1;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&mask);
    PyBuffer_Release(&parent);
    return result;
}

PyDoc_STRVAR(folders_above_doc,
"folders_above(shown, parent, codes)\n\n"
"Adds to shown (a writable 0/1 byte per node, preorder) every node with a nonzero code that holds\n"
"a node shown, in place; parent (int32) as for add_up, codes a byte per node.");

static PyObject *folders_above(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "folders_above(shown, parent, codes)");
        return NULL;
    }
    Py_buffer shown, parent, codes;
    if (mask_and_parent(args, &shown, &parent, "folders_above") < 0)
        return NULL;
    if (get_column(args[2], &codes, 0, 'u', 1, "folders_above: codes") < 0) {
        PyBuffer_Release(&shown);
        PyBuffer_Release(&parent);
        return NULL;
    }
    PyObject *result = NULL;
    if (codes.len != shown.len) {
        PyErr_SetString(PyExc_ValueError, "folders_above: a code per node");
        goto done;
    }
    unsigned char *s = (unsigned char *)shown.buf;
    const int32_t *p = (const int32_t *)parent.buf;
    const unsigned char *c = (const unsigned char *)codes.buf;
    /* Deepest first, so a folder is settled before its parent reads it. An absent folder (code 0) is not
     * shown but still passes on what it holds: 2 marks it until the end. */
    for (Py_ssize_t pos = shown.len - 1; pos >= 0; pos--) {
        int32_t up = p[pos];
        if (up >= pos) {
            PyErr_SetString(PyExc_ValueError, "folders_above: a parent comes after its child");
            goto done;
        }
        if (up >= 0 && s[pos] && !s[up])
            s[up] = c[up] ? 1 : 2;
    }
    for (Py_ssize_t pos = 0; pos < shown.len; pos++)
        if (s[pos] == 2)
            s[pos] = 0;
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&shown);
    PyBuffer_Release(&parent);
    PyBuffer_Release(&codes);
    return result;
}

static PyMethodDef methods[] = {
    {"scatter", (PyCFunction)(void (*)(void))scatter, METH_FASTCALL, scatter_doc},
    {"add_up", (PyCFunction)(void (*)(void))add_up, METH_FASTCALL, add_up_doc},
    {"set_positions", (PyCFunction)set_positions, METH_O, set_positions_doc},
    {"preorder", (PyCFunction)preorder, METH_O, preorder_doc},
    {"layer_changes", (PyCFunction)(void (*)(void))layer_changes, METH_FASTCALL, layer_changes_doc},
    {"gather", (PyCFunction)(void (*)(void))gather, METH_FASTCALL, gather_doc},
    {"spread_down", (PyCFunction)(void (*)(void))spread_down, METH_FASTCALL, spread_down_doc},
    {"folders_above", (PyCFunction)(void (*)(void))folders_above, METH_FASTCALL, folders_above_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_columns", "The explorer's passes over every node, in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__columns(void)
{
    return PyModule_Create(&module);
}
