/* dive_py.trees._columns: the explorer's passes over every node's column, in C.
 *
 * At each layer it shows, the explorer needs every node's size (a folder's is the sum of the files
 * below it), the positions of the rows it shows, and (aggregated) a layer's codes written in place.
 * In Python each is a pass over every node (~0.1 s, ~0.03 s at 10^6 nodes: most of a layer switch
 * there); here 1-2 ms. Optional: without a compiler, dive_py.trees.passes does the same in Python
 * (tests/trees/test_columns.py compares both).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

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
    if (PyObject_GetBuffer(args[0], &values, PyBUF_WRITABLE | PyBUF_FORMAT) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[1], &parent, PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&values);
        return NULL;
    }
    if (nargs == 3 && PyObject_GetBuffer(args[2], &kept, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&values);
        PyBuffer_Release(&parent);
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t count = values.len / 8;
    if (values.itemsize != 8 || parent.itemsize != 4 || parent.len / 4 != count
        || (kept.obj != NULL && kept.len != count)) {
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
            v[up] += v[pos];
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
    if (PyObject_GetBuffer(mask_object, &mask, PyBUF_SIMPLE) < 0)
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
    if (PyObject_GetBuffer(args[0], &target, PyBUF_WRITABLE) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[1], &positions, PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&target);
        return NULL;
    }
    if (PyObject_GetBuffer(args[2], &values, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&target);
        PyBuffer_Release(&positions);
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t count = positions.len / 4;
    if (positions.itemsize != 4 || values.len != count) {
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
    if (PyObject_GetBuffer(args[0], &table, PyBUF_SIMPLE) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[1], &ids, PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&table);
        return NULL;
    }
    PyObject *out = NULL;
    Py_ssize_t count = ids.len / 4;
    if (ids.itemsize != 4) {
        PyErr_SetString(PyExc_ValueError, "gather: int32 ids");
        goto done;
    }
    out = PyByteArray_FromStringAndSize(NULL, count);
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
    if (PyObject_GetBuffer(args[0], mask, PyBUF_WRITABLE) < 0)
        return -1;
    if (PyObject_GetBuffer(args[1], parent, PyBUF_FORMAT) < 0) {
        PyBuffer_Release(mask);
        return -1;
    }
    if (parent->itemsize != 4 || parent->len / 4 != mask->len) {
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
    if (PyObject_GetBuffer(args[2], &codes, PyBUF_SIMPLE) < 0) {
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
    {"gather", (PyCFunction)(void (*)(void))gather, METH_FASTCALL, gather_doc},
    {"spread_down", (PyCFunction)(void (*)(void))spread_down, METH_FASTCALL, spread_down_doc},
    {"folders_above", (PyCFunction)(void (*)(void))folders_above, METH_FASTCALL, folders_above_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_columns", "Folder sizes and shown rows over every node, in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__columns(void)
{
    return PyModule_Create(&module);
}
