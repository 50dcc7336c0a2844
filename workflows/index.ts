// Every workflow the worker runs. The worker and the tests bundle this file.
export { reviewChangeWorkflow } from './review-change';
export { lookupPollerWorkflow } from './lookup-poller';
export { baselineRefreshWorkflow } from './baseline-refresh';
export { terminatedReviewsAuditWorkflow, terminatedReviewPageWorkflow } from './terminated-audit';
export { notifyDigestWorkflow } from './notify-digest';
export { confirmBatchWorkflow } from './confirm-batch';
