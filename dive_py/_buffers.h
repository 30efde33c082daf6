/* Typed columns for divepy's C loops: a buffer taken only when its format is the integer type the loop reads.
 *
 * Checking the item size alone let a column of doubles (array('d'), 8 bytes an item) pass as int64 and be read
 * as nonsense. A loop states the kind it reads ('i' signed, 'u' unsigned) and the width in bytes; the column's
 * struct format must be exactly that: native ('@' or no prefix: sizes as the C compiler has them) or standard
 * ('=', or '<' / '>' on a machine of that byte order: b/h/i/l/q are 1/2/4/4/8 bytes). A byte column also takes
 * 'c' and '?' (bytes are bytes). One dimension, C-contiguous (PyBUF_ND without strides asks for it).
 */
#ifndef DIVEPY_BUFFERS_H
#define DIVEPY_BUFFERS_H

#include <Python.h>
#include <string.h>

/* The width of integer format letter `code` (lower case: signed) in native or standard sizes; 0 if none. */
static Py_ssize_t integer_width(char code, int native)
{
    switch (code) {
    case 'b': case 'B': return 1;
    case 'h': case 'H': return 2;
    case 'i': case 'I': return native ? (Py_ssize_t)sizeof(int) : 4;
    case 'l': case 'L': return native ? (Py_ssize_t)sizeof(long) : 4;
    case 'q': case 'Q': return 8;
    case 'n': case 'N': return native ? (Py_ssize_t)sizeof(Py_ssize_t) : 0;
    default: return 0;
    }
}

/* Whether `format` (NULL: unsigned bytes) names one integer of `kind` ('i' or 'u') and `width` bytes (any byte
 * format when `width` is 1). */
static int integer_format(const char *format, char kind, Py_ssize_t width)
{
    if (format == NULL)
        format = "B";
    int native = 1;
    const int little = PY_LITTLE_ENDIAN;
    if (format[0] == '@')
        format++;
    else if (format[0] == '=' || (format[0] == '<' && little) || (format[0] == '>' && !little)) {
        native = 0;
        format++;
    }
    if (format[0] == '\0' || format[1] != '\0')
        return 0;
    char code = format[0];
    if (width == 1) /* bytes are bytes, signed or not */
        return code == 'c' || code == '?' || integer_width(code, native) == 1;
    int is_signed = code >= 'a' && code <= 'z';
    return integer_width(code, native) == width && is_signed == (kind == 'i');
}

/* Takes `object`'s buffer (writable when asked) as a column of integers of `kind` and `width`; byte columns
 * take any byte format. -1 with TypeError (another format) or BufferError (not contiguous) and nothing held. */
static int get_column(PyObject *object, Py_buffer *view, int writable, char kind, Py_ssize_t width, const char *what)
{
    int flags = PyBUF_FORMAT | PyBUF_ND | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(object, view, flags) < 0)
        return -1;
    if (view->ndim > 1 || view->itemsize != width || !integer_format(view->format, kind, width)) {
        char wanted[40];
        if (width == 1)
            PyOS_snprintf(wanted, sizeof(wanted), "bytes");
        else
            PyOS_snprintf(wanted, sizeof(wanted), "%s%d-bit integers", kind == 'u' ? "unsigned " : "", (int)width * 8);
        PyErr_Format(PyExc_TypeError, "%s: a column of %s, not format '%s' (%s)", what, wanted,
                     view->format ? view->format : "B", Py_TYPE(object)->tp_name);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

#endif
