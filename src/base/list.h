/*
 * list.h -- intrusive doubly-linked lists (circular, with a head node).
 *
 * Embed an sl_dlist_t in the element; the head is an sl_dlist_t too. An
 * unlinked node points to itself, so sl_dlist_remove is safe to call twice.
 * Used for wait lists (parked requests on a partition) where O(1) removal
 * from the middle matters.
 */
#ifndef SL_BASE_LIST_H
#define SL_BASE_LIST_H

#include "base/common.h"

typedef struct sl_dlist {
    struct sl_dlist *prev, *next;
} sl_dlist_t;

#define SL_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void
sl_dlist_init(sl_dlist_t *n)
{
    n->prev = n->next = n;
}

static inline bool
sl_dlist_empty(const sl_dlist_t *head)
{
    return head->next == head;
}

static inline void
sl_dlist_insert_tail(sl_dlist_t *head, sl_dlist_t *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

static inline void
sl_dlist_remove(sl_dlist_t *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

#endif
