/*
 * internal_topics.c -- __consumer_offsets and __transaction_state belong to
 * the broker. Clients may read them (Metadata, Fetch, DescribeConfigs) but
 * not write, delete, shrink, grow or retune them: one DeleteTopics would
 * otherwise wipe every committed offset. Every handler that changes a topic
 * asks the one predicate here and answers INVALID_TOPIC_EXCEPTION (17), the
 * code Kafka gives a Produce or DeleteRecords aimed at an internal topic.
 */
#include "broker/broker_int.h"

bool
sl_internal_topic_is(sl_str_t topic)
{
    return sl_topic_name_is_internal(topic);
}

bool
sl_internal_topic_refuse(sl_str_t topic, int16_t *code)
{
    if (!sl_internal_topic_is(topic))
        return false;
    *code = SL_KERR_INVALID_TOPIC_EXCEPTION;
    return true;
}

sl_str_t
sl_internal_topic_message(sl_req_t *req, sl_str_t topic, const char *what)
{
    return sl_str_c(sl_arena_printf(&req->arena,
                                    "Topic %.*s is an internal topic of the broker; clients cannot "
                                    "%s it",
                                    topic.len, topic.ptr, what));
}
