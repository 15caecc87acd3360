/*
 * errors.c -- the one place an internal status becomes a Kafka error code
 * (STYLE.md §5): a disk error and a client mistake never share a number by
 * accident.
 */
#include "broker/broker_int.h"

int16_t
sl_kerr_from_status(int rc)
{
    switch (rc) {
    case SL_OK:
        return SL_KERR_NONE;
    case SL_EPROTO:
        return SL_KERR_CORRUPT_MESSAGE;
    case SL_ECORRUPT:
        return SL_KERR_CORRUPT_MESSAGE;
    case SL_ETOOBIG:
        return SL_KERR_MESSAGE_TOO_LARGE;
    case SL_ERANGE:
        return SL_KERR_OFFSET_OUT_OF_RANGE;
    case SL_ENOENT:
        return SL_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    case SL_EEXIST:
        return SL_KERR_TOPIC_ALREADY_EXISTS;
    case SL_EUNSUP:
        return SL_KERR_UNSUPPORTED_COMPRESSION_TYPE;
    case SL_EIO:
    case SL_ENOSPC:
    case SL_EOFFLINE:
    /* Retriable for clients (KafkaStorageException is a RetriableException);
     * the partition stays online, see docs/broker.md "Disk and descriptor
     * failures". */
    case SL_ENFILE:
        return SL_KERR_KAFKA_STORAGE_ERROR;
    case SL_ETIMEDOUT:
        return SL_KERR_REQUEST_TIMED_OUT;
    case SL_EINVALID_CONFIG:
        return SL_KERR_INVALID_CONFIG;
    case SL_EINVALID_TOPIC:
        return SL_KERR_INVALID_TOPIC_EXCEPTION;
    case SL_EINVALID_PARTITIONS:
        return SL_KERR_INVALID_PARTITIONS;
    case SL_EINVALID_REPLICATION:
        return SL_KERR_INVALID_REPLICATION_FACTOR;
    case SL_EINVALID_REQUEST:
    case SL_EINVAL:
        return SL_KERR_INVALID_REQUEST;
    case SL_EDELETION_DISABLED:
        return SL_KERR_TOPIC_DELETION_DISABLED;
    case SL_EPOLICY_VIOLATION:
        return SL_KERR_POLICY_VIOLATION;
    case SL_ENOT_LEADER:
        return SL_KERR_NOT_LEADER_OR_FOLLOWER;
    case SL_EFENCED_EPOCH:
        return SL_KERR_FENCED_LEADER_EPOCH;
    case SL_EUNKNOWN_EPOCH:
        return SL_KERR_UNKNOWN_LEADER_EPOCH;
    case SL_EOUT_OF_ORDER_SEQUENCE:
        return SL_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    case SL_EINVALID_PRODUCER_EPOCH:
        return SL_KERR_INVALID_PRODUCER_EPOCH;
    case SL_EINVALID_TXN_STATE:
        return SL_KERR_INVALID_TXN_STATE;
    default:
        return SL_KERR_UNKNOWN_SERVER_ERROR;
    }
}

int16_t
sl_kerr_unknown_topic(sl_str_t name)
{
    return sl_topic_name_validate(name, NULL) != SL_OK ? SL_KERR_INVALID_TOPIC_EXCEPTION
                                                       : SL_KERR_UNKNOWN_TOPIC_OR_PARTITION;
}
