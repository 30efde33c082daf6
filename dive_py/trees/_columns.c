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

static PyMethodDef methods[] = {
    {"scatter", (PyCFunction)(void (*)(void))scatter, METH_FASTCALL, scatter_doc},
    {"add_up", (PyCFunction)(void (*)(void))add_up, METH_FASTCALL, add_up_doc},
    {"set_positions", (PyCFunction)set_positions, METH_O, set_positions_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_columns", "Folder sizes and shown rows over every node, in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__columns(void)
{
    return PyModule_Create(&module);
}
