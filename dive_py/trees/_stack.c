/* dive_py.trees._stack: the loop of FileTree.apply_layer over a layer's entries, in C.
 *
 * Stacking a layer is a loop over its entries: find each one's folder node, make a node for a new path (most of
 * them) or give an existing one its new version. At 10^6 entries the Python loop (FileTree._stack_entries, the
 * fallback, with the same results: tests/trees/test_columns.py compares both) spends most of its time calling
 * the Node class and in the interpreter; here new nodes are made without a call (dive_py/_slots.h), and the rare
 * branches (a path the tree has, a folder the layer does not list) call the very same Python methods.
 * Optional: without a compiler, or with DIVEPY_PURE_PYTHON=1, the tree stacks in Python.
 *
 * Slots are read and written at offsets found in the root's class (dive_py/_slots.h), so every folder node is
 * checked to be an instance of that class before its `children` slot is touched: a folder of another class
 * (tree._ensure_dirs or a children dict handing back something else) raises TypeError instead of writing past
 * the object. The folder in hand and its children dict are strong references, as Python code (tree methods,
 * an entry's `kind`) runs between their uses.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "../_slots.h"

enum { NAME, PARENT, CHILDREN, FLAT, PATH, NODE_SLOTS };
static const char *const node_slots[NODE_SLOTS] = {"name", "parent", "children", "flat", "_path"};

/* A new node, as Node(name, parent, flat) makes it (children and _path None), without running __init__. */
static PyObject *new_node(PyTypeObject *type, const Py_ssize_t *offsets, PyObject *name, PyObject *parent, PyObject *flat)
{
    PyObject *values[NODE_SLOTS] = {name, parent, Py_None, flat, Py_None};
    return new_with_slots(type, offsets, values, NODE_SLOTS);
}

typedef struct {
    PyObject *tree, *root, *nodes, *names, *changes, *parents, *revisits, *folder_entries, *layer, *directory, *folders, *kind_name;
    PyTypeObject *type;
    Py_ssize_t offsets[NODE_SLOTS];
    PyObject *cached_path; /* owned */
    PyObject *cached_parent; /* owned: the root, or a value of folders (which a later folder may replace) */
} Stacking;

/* The class's slot offsets are only valid for its instances (and subclasses', which extend its layout). */
static int is_node(Stacking *st, PyObject *node)
{
    if (Py_TYPE(node) == st->type || PyObject_TypeCheck(node, st->type))
        return 1;
    PyErr_Format(PyExc_TypeError, "stack_entries: a folder node is %.100s, not %.100s", Py_TYPE(node)->tp_name,
                 st->type->tp_name);
    return 0;
}

/* The node of an entry's folder (made with tree._ensure_dirs when the layer has not listed it), a new reference
 * checked to be a node. */
static PyObject *entry_folder(Stacking *st, PyObject *parent_path)
{
    int same = parent_path == st->cached_path ? 0 : PyUnicode_Compare(parent_path, st->cached_path);
    if (same == -1 && PyErr_Occurred())
        return NULL;
    if (same == 0) {
        Py_INCREF(st->cached_parent);
        return st->cached_parent;
    }
    PyObject *parent = PyDict_GetItemWithError(st->folders, parent_path);
    if (parent == NULL) {
        if (PyErr_Occurred())
            return NULL;
        PyObject *made = PyObject_CallMethod(st->tree, "_ensure_dirs", "OO", parent_path, st->layer);
        if (made == NULL)
            return NULL;
        int failed = PyDict_SetItem(st->folders, parent_path, made);
        Py_DECREF(made);
        if (failed < 0)
            return NULL;
        parent = PyDict_GetItemWithError(st->folders, parent_path);
        if (parent == NULL)
            return NULL;
    }
    if (!is_node(st, parent))
        return NULL;
    Py_INCREF(parent_path);
    Py_SETREF(st->cached_path, parent_path);
    Py_INCREF(parent);
    Py_SETREF(st->cached_parent, parent);
    if (PySet_Add(st->parents, parent_path) < 0)
        return NULL;
    Py_INCREF(parent);
    return parent;
}

/* Stacks one entry: a new node under its folder, or tree._revisit for a path the tree has. */
static int stack_entry(Stacking *st, PyObject *path, PyObject *entry)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(path);
    Py_ssize_t slash = PyUnicode_FindChar(path, '/', 0, length, -1);
    if (slash == -2)
        return -1;
    PyObject *parent_path = slash < 0 ? PyUnicode_New(0, 0) : PyUnicode_Substring(path, 0, slash);
    PyObject *name = slash < 0 ? (Py_INCREF(path), path) : PyUnicode_Substring(path, slash + 1, length);
    PyObject *node = NULL, *parent = NULL, *children = NULL;
    int status = -1;
    if (parent_path == NULL || name == NULL)
        goto done;
    parent = entry_folder(st, parent_path);
    if (parent == NULL)
        goto done;
    children = SLOT(parent, st->offsets[CHILDREN]);
    if (children == NULL) {
        PyErr_SetString(PyExc_AttributeError, "children");
        goto done;
    }
    if (children == Py_None) {
        children = PyDict_New();
        if (children == NULL)
            goto done;
        Py_SETREF(SLOT(parent, st->offsets[CHILDREN]), children);
    }
    else if (!PyDict_Check(children)) {
        children = NULL;
        PyErr_SetString(PyExc_TypeError, "stack_entries: a node's children must be a dict or None");
        goto done;
    }
    Py_INCREF(children);
    node = PyDict_GetItemWithError(children, name);
    if (node != NULL) {
        Py_INCREF(node);
        if (PyDict_SetItem(st->revisits, path, node) < 0)
            goto done;
        PyObject *replaced = PyObject_CallMethod(st->tree, "_revisit", "OOO", node, st->layer, entry);
        if (replaced == NULL)
            goto done;
        int forget = PyObject_IsTrue(replaced);
        Py_DECREF(replaced);
        if (forget < 0)
            goto done;
        if (forget) { /* a file replaced a folder: the folders known so far may be gone */
            if (PyObject_SetAttrString(st->changes, "replaced_folder", Py_True) < 0)
                goto done;
            PyDict_Clear(st->folders);
            PyObject *empty = PyUnicode_New(0, 0);
            if (empty == NULL || PyDict_SetItem(st->folders, empty, st->root) < 0) {
                Py_XDECREF(empty);
                goto done;
            }
            Py_SETREF(st->cached_path, empty);
            Py_INCREF(st->root);
            Py_SETREF(st->cached_parent, st->root);
        }
    } else {
        if (PyErr_Occurred())
            goto done;
        PyObject *shared = PyDict_SetDefault(st->names, name, name);
        PyObject *flat = shared == NULL ? NULL : PyTuple_Pack(2, st->layer, entry);
        if (flat == NULL)
            goto done;
        node = new_node(st->type, st->offsets, shared, parent, flat);
        Py_DECREF(flat);
        if (node == NULL || PyDict_SetItem(children, shared, node) < 0 || PyList_Append(st->nodes, node) < 0)
            goto done;
    }
    PyObject *kind = PyObject_GetAttr(entry, st->kind_name);
    if (kind == NULL)
        goto done;
    int folder = kind == st->directory ? 1 : PyObject_RichCompareBool(kind, st->directory, Py_EQ);
    Py_DECREF(kind);
    if (folder < 0 || (folder && (PyDict_SetItem(st->folders, path, node) < 0 || PyList_Append(st->folder_entries, path) < 0)))
        goto done;
    status = 0;
done:
    Py_XDECREF(parent_path);
    Py_XDECREF(name);
    Py_XDECREF(node);
    Py_XDECREF(parent);
    Py_XDECREF(children);
    return status;
}

PyDoc_STRVAR(stack_entries_doc,
"stack_entries(tree, layer, written, changes, directory)\n\n"
"The loop of FileTree.apply_layer over a layer's entries (written: path -> entry), as its Python path does it:\n"
"a new node per new path (named with one string per distinct name, tree._names), tree._revisit for a path the\n"
"tree has, tree._ensure_dirs for a folder the layer does not list; notes in changes (a LayerChanges) the\n"
"entries' folders (parents), the revisited paths' nodes (revisits), the folder entries (folders) and\n"
"whether a folder was replaced (replaced_folder).");

static PyObject *stack_entries(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyDict_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "stack_entries(tree, layer, written, changes, directory)");
        return NULL;
    }
    Stacking st = {.tree = args[0], .changes = args[3], .layer = args[1], .directory = args[4]};
    PyObject *result = NULL;
    st.root = PyObject_GetAttrString(st.tree, "root");
    st.nodes = PyObject_GetAttrString(st.tree, "nodes");
    st.names = PyObject_GetAttrString(st.tree, "_names");
    st.parents = PyObject_GetAttrString(st.changes, "parents");
    st.revisits = PyObject_GetAttrString(st.changes, "revisits");
    st.folder_entries = PyObject_GetAttrString(st.changes, "folders");
    st.folders = PyDict_New();
    st.cached_path = PyUnicode_New(0, 0);
    st.kind_name = PyUnicode_InternFromString("kind");
    if (st.kind_name == NULL || st.root == NULL || st.nodes == NULL || st.names == NULL || st.folders == NULL ||
        st.cached_path == NULL || st.parents == NULL || st.revisits == NULL || st.folder_entries == NULL)
        goto done;
    if (!PyList_Check(st.nodes) || !PyDict_Check(st.names) || !PySet_Check(st.parents) || !PyDict_Check(st.revisits) ||
        !PyList_Check(st.folder_entries)) {
        PyErr_SetString(PyExc_TypeError, "stack_entries: tree.nodes, tree._names or the changes' columns are not what they should be");
        goto done;
    }
    st.type = Py_TYPE(st.root);
    Py_INCREF(st.root);
    st.cached_parent = st.root;
    if (slot_offsets(st.type, node_slots, st.offsets, NODE_SLOTS) < 0 || PyDict_SetItem(st.folders, st.cached_path, st.root) < 0)
        goto done;
    Py_ssize_t pos = 0;
    PyObject *path, *entry;
    while (PyDict_Next(args[2], &pos, &path, &entry)) {
        if (!PyUnicode_Check(path)) {
            PyErr_SetString(PyExc_TypeError, "stack_entries: paths must be str");
            goto done;
        }
        Py_INCREF(path);
        Py_INCREF(entry);
        int failed = stack_entry(&st, path, entry);
        Py_DECREF(path);
        Py_DECREF(entry);
        if (failed < 0)
            goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    Py_XDECREF(st.root);
    Py_XDECREF(st.nodes);
    Py_XDECREF(st.names);
    Py_XDECREF(st.folders);
    Py_XDECREF(st.cached_path);
    Py_XDECREF(st.cached_parent);
    Py_XDECREF(st.kind_name);
    Py_XDECREF(st.parents);
    Py_XDECREF(st.revisits);
    Py_XDECREF(st.folder_entries);
    return result;
}

static PyMethodDef methods[] = {
    {"stack_entries", (PyCFunction)(void (*)(void))stack_entries, METH_FASTCALL, stack_entries_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_stack", "A layer's entries stacked into the union tree, in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__stack(void)
{
    return PyModule_Create(&module);
}
