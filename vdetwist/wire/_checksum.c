/*
 * Copyright (c) vdetwist authors. See LICENSE for details.
 *
 * The Internet checksum (RFC 1071) in C, for CPython: the same two functions
 * as vdetwist/wire/checksum.py's onesComplementSumBigInt and
 * internetChecksumBigInt, with the same results for every input, at about a
 * tenth of their cost per 1480-byte segment (the checksum was a third of the
 * virtual host's time sending; docs/performance.txt, 2026-12-06).  Optional:
 * the package works without it (checksum.py picks it when it imports).
 *
 * The sum: native-order 32-bit words added into 64 bits (no carry is lost
 * below 2**32 words), folded to 16 bits and byte-swapped on a little-endian
 * machine (RFC 1071 section 2(B)); an odd last byte is the high byte of a
 * padded word.  The folded data sum is 0 only when every byte is 0.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* The folded sum of the data's 16-bit big-endian words: 0 only when every
 * byte is 0, otherwise in 1..0xffff. */
static uint32_t
wordSum(const unsigned char *p, Py_ssize_t size)
{
    uint64_t total = 0;
    Py_ssize_t i = 0;
    Py_ssize_t body = size & ~(Py_ssize_t)3;
    uint32_t word;
    int odd = size & 1;
    unsigned char last = 0;

    for (; i < body; i += 4) {
        memcpy(&word, p + i, 4);
        total += word;
    }
    if (size - body >= 2) {
        uint16_t half;
        memcpy(&half, p + body, 2);
        total += half;
    }
    if (odd) {
        last = p[size - 1];
    }
    while (total > 0xffff) {
        total = (total & 0xffff) + (total >> 16);
    }
#if PY_LITTLE_ENDIAN
    total = ((total & 0xff) << 8) | (total >> 8);
#endif
    total += (uint32_t)last << 8;
    while (total > 0xffff) {
        total = (total & 0xffff) + (total >> 16);
    }
    return (uint32_t)total;
}

/* data + initial, reduced: *zero is set when both are all zero; *r is the
 * remainder modulo 0xffff otherwise.  Returns -1 with an exception set on
 * bad arguments. */
static int
reduce(PyObject *const *args, Py_ssize_t nargs, int *zero, uint32_t *r)
{
    Py_buffer view;
    unsigned long long initial = 0;
    int initialNonZero = 0;
    uint64_t n;

    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "expected (data, initial=0)");
        return -1;
    }
    if (nargs == 2) {
        PyObject *value = args[1];
        if (!PyLong_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "initial must be an int");
            return -1;
        }
        initial = PyLong_AsUnsignedLongLong(value);
        if (initial == (unsigned long long)-1 && PyErr_Occurred()) {
            /* Larger than 64 bits (an IPv6 pseudo-header read whole) or
             * negative: reduce it in Python's integers first. */
            PyObject *modulus, *rest, *zeroInt;
            int positive;
            PyErr_Clear();
            zeroInt = PyLong_FromLong(0);
            if (zeroInt == NULL) {
                return -1;
            }
            positive = PyObject_RichCompareBool(value, zeroInt, Py_GT);
            Py_DECREF(zeroInt);
            if (positive < 0) {
                return -1;
            }
            if (!positive) {
                PyErr_SetString(PyExc_ValueError, "initial must not be negative");
                return -1;
            }
            modulus = PyLong_FromLong(0xffff);
            if (modulus == NULL) {
                return -1;
            }
            rest = PyNumber_Remainder(value, modulus);
            Py_DECREF(modulus);
            if (rest == NULL) {
                return -1;
            }
            initial = PyLong_AsUnsignedLongLong(rest);
            Py_DECREF(rest);
            /* A non-zero multiple of 0xffff is negative zero, not zero. */
            if (initial == 0) {
                initial = 0xffff;
            }
        }
        initialNonZero = initial != 0;
        initial %= 0xffff;
        if (initialNonZero && initial == 0) {
            initial = 0xffff;
        }
    }
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    n = (uint64_t)wordSum((const unsigned char *)view.buf, view.len) + initial;
    PyBuffer_Release(&view);
    *zero = n == 0;
    *r = (uint32_t)(n % 0xffff);
    return 0;
}

static PyObject *
onesComplementSum(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    int zero;
    uint32_t r;

    if (reduce(args, nargs, &zero, &r) < 0) {
        return NULL;
    }
    if (zero) {
        return PyLong_FromLong(0);
    }
    return PyLong_FromLong(r ? r : 0xffff);
}

static PyObject *
internetChecksum(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    int zero;
    uint32_t r;

    if (reduce(args, nargs, &zero, &r) < 0) {
        return NULL;
    }
    if (zero) {
        return PyLong_FromLong(0xffff);
    }
    /* r == 0 with a non-zero sum is the sum 0xffff, whose complement is 0. */
    return PyLong_FromLong(r ? 0xffff - r : 0);
}

static PyMethodDef methods[] = {
    {"onesComplementSum", (PyCFunction)(void (*)(void))onesComplementSum, METH_FASTCALL,
     "onesComplementSum(data, initial=0): the folded one's-complement sum of data's\n"
     "16-bit big-endian words plus initial; 0 only when all are zero."},
    {"internetChecksum", (PyCFunction)(void (*)(void))internetChecksum, METH_FASTCALL,
     "internetChecksum(data, initial=0): the complement of onesComplementSum."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "vdetwist.wire._checksum",
    "The Internet checksum (RFC 1071) in C; see vdetwist.wire.checksum.",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__checksum(void)
{
    return PyModule_Create(&module);
}
