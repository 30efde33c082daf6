/* Making instances of divepy's slots classes (the union tree's Node, the model's FileEntry) from C loops.
 *
 * Calling such a class runs its Python __init__ (~0.25 us an object): at 10^6 objects, a quarter of the loop
 * that makes them. The C loops allocate the object and fill every slot themselves, at offsets found by name
 * in the class's member table, so that a renamed or added slot fails loudly instead of leaving a field unset
 * (the Python fallbacks and the tests comparing both catch the rest).
 */
#ifndef DIVEPY_SLOTS_H
#define DIVEPY_SLOTS_H

#include <Python.h>
#include <structmember.h>
#include <string.h>

#define SLOT(object, offset) (*(PyObject **)((char *)(object) + (offset)))

/* offsets[i] = the offset of slot names[i] of `type`; the class must have exactly these `count` slots. */
static int slot_offsets(PyTypeObject *type, const char *const *names, Py_ssize_t *offsets, int count)
{
    if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE) || type->tp_members == NULL || type->tp_dictoffset != 0 ||
        type->tp_base != &PyBaseObject_Type) {
        PyErr_Format(PyExc_TypeError, "%s must be a plain class with __slots__", type->tp_name);
        return -1;
    }
    int members = 0;
    for (PyMemberDef *member = type->tp_members; member->name != NULL; member++)
        members++;
    for (int i = 0; i < count; i++) {
        offsets[i] = -1;
        for (PyMemberDef *member = type->tp_members; member->name != NULL; member++)
            if (strcmp(member->name, names[i]) == 0 && member->type == T_OBJECT_EX)
                offsets[i] = member->offset;
        if (offsets[i] < 0) {
            PyErr_Format(PyExc_TypeError, "%s has no slot %s", type->tp_name, names[i]);
            return -1;
        }
    }
    if (members != count) {
        PyErr_Format(PyExc_TypeError, "%s has %d slots, not %d", type->tp_name, members, count);
        return -1;
    }
    return 0;
}

/* A new instance of `type` with slot i set to values[i] (new references taken). */
static PyObject *new_with_slots(PyTypeObject *type, const Py_ssize_t *offsets, PyObject *const *values, int count)
{
    PyObject *object = type->tp_alloc(type, 0);
    if (object == NULL)
        return NULL;
    for (int i = 0; i < count; i++) {
        Py_INCREF(values[i]);
        SLOT(object, offsets[i]) = values[i];
    }
    return object;
}

#endif
