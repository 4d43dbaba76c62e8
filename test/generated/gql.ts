/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment PaymentFields on Payment {\n  id\n  reference\n  status\n  nextStep\n  resultCode\n  refusalReason\n  pspReference\n  amount {\n    value\n    currency\n  }\n  paymentMethodType\n  action\n  shopperReference\n  storePaymentMethod\n  version\n  createdAt\n  updatedAt\n  events {\n    version\n    status\n    source\n    eventCode\n    resultCode\n    occurredAt\n  }\n}\n\nquery PaymentMethods($input: PaymentMethodsInput!) {\n  paymentMethods(input: $input) {\n    type\n    name\n    logoUrl\n  }\n}\n\nquery Payment($id: ID!) {\n  payment(id: $id) {\n    ...PaymentFields\n  }\n}\n\nmutation StartKakaoPayPayment($input: StartKakaoPayPaymentInput!) {\n  startKakaoPayPayment(input: $input) {\n    ...PaymentFields\n  }\n}\n\nmutation SubmitPaymentDetails($input: SubmitPaymentDetailsInput!) {\n  submitPaymentDetails(input: $input) {\n    ...PaymentFields\n  }\n}\n\nsubscription PaymentStatusChanged($paymentId: ID!, $afterVersion: Int) {\n  paymentStatusChanged(paymentId: $paymentId, afterVersion: $afterVersion) {\n    previousStatus\n    status\n    source\n    version\n    occurredAt\n    payment {\n      id\n      status\n      version\n      refusalReason\n    }\n  }\n}": typeof types.PaymentFieldsFragmentDoc,
    "query StoredPaymentMethods($shopperReference: String!) {\n  storedPaymentMethods(shopperReference: $shopperReference) {\n    id\n    type\n    shopperReference\n    originalPaymentId\n    active\n    createdAt\n  }\n}\n\nmutation ChargeStoredPaymentMethod($input: ChargeStoredPaymentMethodInput!) {\n  chargeStoredPaymentMethod(input: $input) {\n    ...PaymentFields\n  }\n}\n\nmutation DisableStoredPaymentMethod($input: DisableStoredPaymentMethodInput!) {\n  disableStoredPaymentMethod(input: $input) {\n    id\n    active\n  }\n}": typeof types.StoredPaymentMethodsDocument,
};
const documents: Documents = {
    "fragment PaymentFields on Payment {\n  id\n  reference\n  status\n  nextStep\n  resultCode\n  refusalReason\n  pspReference\n  amount {\n    value\n    currency\n  }\n  paymentMethodType\n  action\n  shopperReference\n  storePaymentMethod\n  version\n  createdAt\n  updatedAt\n  events {\n    version\n    status\n    source\n    eventCode\n    resultCode\n    occurredAt\n  }\n}\n\nquery PaymentMethods($input: PaymentMethodsInput!) {\n  paymentMethods(input: $input) {\n    type\n    name\n    logoUrl\n  }\n}\n\nquery Payment($id: ID!) {\n  payment(id: $id) {\n    ...PaymentFields\n  }\n}\n\nmutation StartKakaoPayPayment($input: StartKakaoPayPaymentInput!) {\n  startKakaoPayPayment(input: $input) {\n    ...PaymentFields\n  }\n}\n\nmutation SubmitPaymentDetails($input: SubmitPaymentDetailsInput!) {\n  submitPaymentDetails(input: $input) {\n    ...PaymentFields\n  }\n}\n\nsubscription PaymentStatusChanged($paymentId: ID!, $afterVersion: Int) {\n  paymentStatusChanged(paymentId: $paymentId, afterVersion: $afterVersion) {\n    previousStatus\n    status\n    source\n    version\n    occurredAt\n    payment {\n      id\n      status\n      version\n      refusalReason\n    }\n  }\n}": types.PaymentFieldsFragmentDoc,
    "query StoredPaymentMethods($shopperReference: String!) {\n  storedPaymentMethods(shopperReference: $shopperReference) {\n    id\n    type\n    shopperReference\n    originalPaymentId\n    active\n    createdAt\n  }\n}\n\nmutation ChargeStoredPaymentMethod($input: ChargeStoredPaymentMethodInput!) {\n  chargeStoredPaymentMethod(input: $input) {\n    ...PaymentFields\n  }\n}\n\nmutation DisableStoredPaymentMethod($input: DisableStoredPaymentMethodInput!) {\n  disableStoredPaymentMethod(input: $input) {\n    id\n    active\n  }\n}": types.StoredPaymentMethodsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment PaymentFields on Payment {\n  id\n  reference\n  status\n  nextStep\n  resultCode\n  refusalReason\n  pspReference\n  amount {\n    value\n    currency\n  }\n  paymentMethodType\n  action\n  shopperReference\n  storePaymentMethod\n  version\n  createdAt\n  updatedAt\n  events {\n    version\n    status\n    source\n    eventCode\n    resultCode\n    occurredAt\n  }\n}\n\nquery PaymentMethods($input: PaymentMethodsInput!) {\n  paymentMethods(input: $input) {\n    type\n    name\n    logoUrl\n  }\n}\n\nquery Payment($id: ID!) {\n  payment(id: $id) {\n    ...PaymentFields\n  }\n}\n\nmutation StartKakaoPayPayment($input: StartKakaoPayPaymentInput!) {\n  startKakaoPayPayment(input: $input) {\n    ...PaymentFields\n  }\n}\n\nmutation SubmitPaymentDetails($input: SubmitPaymentDetailsInput!) {\n  submitPaymentDetails(input: $input) {\n    ...PaymentFields\n  }\n}\n\nsubscription PaymentStatusChanged($paymentId: ID!, $afterVersion: Int) {\n  paymentStatusChanged(paymentId: $paymentId, afterVersion: $afterVersion) {\n    previousStatus\n    status\n    source\n    version\n    occurredAt\n    payment {\n      id\n      status\n      version\n      refusalReason\n    }\n  }\n}"): (typeof documents)["fragment PaymentFields on Payment {\n  id\n  reference\n  status\n  nextStep\n  resultCode\n  refusalReason\n  pspReference\n  amount {\n    value\n    currency\n  }\n  paymentMethodType\n  action\n  shopperReference\n  storePaymentMethod\n  version\n  createdAt\n  updatedAt\n  events {\n    version\n    status\n    source\n    eventCode\n    resultCode\n    occurredAt\n  }\n}\n\nquery PaymentMethods($input: PaymentMethodsInput!) {\n  paymentMethods(input: $input) {\n    type\n    name\n    logoUrl\n  }\n}\n\nquery Payment($id: ID!) {\n  payment(id: $id) {\n    ...PaymentFields\n  }\n}\n\nmutation StartKakaoPayPayment($input: StartKakaoPayPaymentInput!) {\n  startKakaoPayPayment(input: $input) {\n    ...PaymentFields\n  }\n}\n\nmutation SubmitPaymentDetails($input: SubmitPaymentDetailsInput!) {\n  submitPaymentDetails(input: $input) {\n    ...PaymentFields\n  }\n}\n\nsubscription PaymentStatusChanged($paymentId: ID!, $afterVersion: Int) {\n  paymentStatusChanged(paymentId: $paymentId, afterVersion: $afterVersion) {\n    previousStatus\n    status\n    source\n    version\n    occurredAt\n    payment {\n      id\n      status\n      version\n      refusalReason\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query StoredPaymentMethods($shopperReference: String!) {\n  storedPaymentMethods(shopperReference: $shopperReference) {\n    id\n    type\n    shopperReference\n    originalPaymentId\n    active\n    createdAt\n  }\n}\n\nmutation ChargeStoredPaymentMethod($input: ChargeStoredPaymentMethodInput!) {\n  chargeStoredPaymentMethod(input: $input) {\n    ...PaymentFields\n  }\n}\n\nmutation DisableStoredPaymentMethod($input: DisableStoredPaymentMethodInput!) {\n  disableStoredPaymentMethod(input: $input) {\n    id\n    active\n  }\n}"): (typeof documents)["query StoredPaymentMethods($shopperReference: String!) {\n  storedPaymentMethods(shopperReference: $shopperReference) {\n    id\n    type\n    shopperReference\n    originalPaymentId\n    active\n    createdAt\n  }\n}\n\nmutation ChargeStoredPaymentMethod($input: ChargeStoredPaymentMethodInput!) {\n  chargeStoredPaymentMethod(input: $input) {\n    ...PaymentFields\n  }\n}\n\nmutation DisableStoredPaymentMethod($input: DisableStoredPaymentMethodInput!) {\n  disableStoredPaymentMethod(input: $input) {\n    id\n    active\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;