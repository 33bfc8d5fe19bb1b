import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /**
   * Implement the DateTime<Utc> scalar
   *
   * The input/output is a string in RFC3339 format.
   */
  DateTime: { input: string; output: string; }
  /** A scalar that can represent any JSON value. */
  JSON: { input: unknown; output: unknown; }
  /** A multipart file upload */
  Upload: { input: unknown; output: unknown; }
};

/** How a custom attribute's values are typed and shown. */
export type AttributeDisplayType =
  /** True or false. */
  | 'CHECKBOX'
  /** An amount of money. */
  | 'CURRENCY'
  /** A date (`YYYY-MM-DD`). */
  | 'DATE'
  /** A URL. */
  | 'LINK'
  /** One of the definition's `values`. */
  | 'LIST'
  /** A number. */
  | 'NUMBER'
  /** A percentage. */
  | 'PERCENT'
  /** Free text. */
  | 'TEXT';

/** What a custom attribute describes. */
export type AttributeModel =
  /** A field of contacts. */
  | 'CONTACT_ATTRIBUTE'
  /** A field of conversations. */
  | 'CONVERSATION_ATTRIBUTE';

/** A member's chosen availability. */
export type Availability =
  /** Present but not taking new conversations. */
  | 'BUSY'
  /** Away. */
  | 'OFFLINE'
  /** Available for conversations. */
  | 'ONLINE';

/** Whether a contact is connected. */
export type ContactAvailability =
  /** Not connected. */
  | 'OFFLINE'
  /** Connected within the presence window. */
  | 'ONLINE';

/** What happened to a contact (the `contactChanged` subscription). */
export type ContactEventKind =
  /** The contact was created. */
  | 'CREATED'
  /** The contact was deleted. */
  | 'DELETED'
  /** Another contact was merged into it. */
  | 'MERGED'
  /** The contact was changed. */
  | 'UPDATED';

/** One condition of a contacts filter, as Chatwoot's contacts filter takes it. */
export type ContactFilterCondition = {
  /**
   * The attribute to compare: `name`, `email`, `phone_number`, `identifier`, `country_code`,
   * `city`, `company`, `labels`, `created_at`, `last_activity_at`, `blocked`, or the key of a
   * custom attribute defined for contacts.
   */
  attributeKey: Scalars['String']['input'];
  /** How to compare; which operators are allowed depends on the attribute. */
  filterOperator: FilterOperator;
  /** How this condition is joined to the next one (default AND); ignored on the last one. */
  queryOperator?: InputMaybe<QueryOperator>;
  /**
   * The values to compare with: strings, numbers or booleans as the attribute's type needs
   * (dates as `YYYY-MM-DD` or RFC 3339). Empty for IS_PRESENT and IS_NOT_PRESENT.
   */
  values?: Array<Scalars['JSON']['input']>;
};

/** A sort order for contacts. Missing values always come last; ties are broken by id. */
export type ContactSort = {
  /** The direction. */
  direction?: SortDirection;
  /** The field to sort by. */
  field: ContactSortField;
};

/** Sortable fields of contacts. */
export type ContactSortField =
  /** `additional_attributes.city`, ignoring case. */
  | 'CITY'
  /** `additional_attributes.company_name`, ignoring case. */
  | 'COMPANY'
  /** `additional_attributes.country`, ignoring case. */
  | 'COUNTRY'
  /** Creation time. */
  | 'CREATED_AT'
  /** Email. */
  | 'EMAIL'
  /** Last activity. */
  | 'LAST_ACTIVITY_AT'
  /** Name, ignoring case. */
  | 'NAME'
  /** Phone number. */
  | 'PHONE_NUMBER';

/** What stage of the relationship a contact is in. */
export type ContactType =
  /** A paying customer. */
  | 'CUSTOMER'
  /** Someone who left a way to reach them (email, phone or a social profile). */
  | 'LEAD'
  /** An anonymous visitor. */
  | 'VISITOR';

/** Where a conversation stands. */
export type ConversationStatus =
  /** Waiting for the team. */
  | 'OPEN'
  /** Waiting on something before the team acts (e.g. a bot). */
  | 'PENDING'
  /** Done. */
  | 'RESOLVED'
  /** Put aside until later. */
  | 'SNOOZED';

/** A new member of the viewer's account. */
export type CreateAgentInput = {
  /**
   * Login email. When it belongs to an existing user, that user is invited instead: they
   * join when they call `acceptInvitation`, and the answer shows only this input.
   */
  email: Scalars['String']['input'];
  /** Full name (1 to 255 characters). */
  name: Scalars['String']['input'];
  /**
   * Password for a new user (at least 8 characters; checked for an existing user too, but
   * never changes their password).
   */
  password: Scalars['String']['input'];
  /** Role in the account. */
  role?: Role;
};

/** A new contact. */
export type CreateContactInput = {
  /** Other facts (a JSON object): `company_name`, `city`, `country`, `country_code`, … */
  additionalAttributes?: InputMaybe<Scalars['JSON']['input']>;
  /** Avatar image URL. */
  avatarUrl?: InputMaybe<Scalars['String']['input']>;
  /** Whether the contact is blocked. */
  blocked?: InputMaybe<Scalars['Boolean']['input']>;
  /** Visitor (default), lead or customer. A visitor with an email or phone becomes a lead. */
  contactType?: InputMaybe<ContactType>;
  /** The account's own fields (a JSON object). */
  customAttributes?: InputMaybe<Scalars['JSON']['input']>;
  /** Email (trimmed, lower-cased; unique in the account). */
  email?: InputMaybe<Scalars['String']['input']>;
  /** Your identifier for the contact (unique in the account). */
  identifier?: InputMaybe<Scalars['String']['input']>;
  /** An inbox to register the contact in (creates a contact inbox). */
  inboxId?: InputMaybe<Scalars['ID']['input']>;
  /** When the contact was last active. */
  lastActivityAt?: InputMaybe<Scalars['DateTime']['input']>;
  /** Last name. */
  lastName?: InputMaybe<Scalars['String']['input']>;
  /** Middle name. */
  middleName?: InputMaybe<Scalars['String']['input']>;
  /** Full name. */
  name?: InputMaybe<Scalars['String']['input']>;
  /** Phone number in E.164, e.g. `+14155550100` (unique in the account). */
  phoneNumber?: InputMaybe<Scalars['String']['input']>;
  /** The contact's id in that inbox (generated when omitted). */
  sourceId?: InputMaybe<Scalars['String']['input']>;
};

/** A new conversation with a contact in an inbox. */
export type CreateConversationInput = {
  /** The member to assign the conversation to. */
  assigneeId?: InputMaybe<Scalars['ID']['input']>;
  /** The contact to talk to. */
  contactId: Scalars['ID']['input'];
  /** The inbox to talk through. */
  inboxId: Scalars['ID']['input'];
  /** The text of a first message, sent by the viewer as an OUTGOING message. */
  message?: InputMaybe<Scalars['String']['input']>;
  /**
   * The contact's id in the inbox: selects the contact inbox with this source id, creating it
   * when missing. When omitted, the contact's existing contact inbox in the inbox is used (or
   * one is created with a generated source id).
   */
  sourceId?: InputMaybe<Scalars['String']['input']>;
  /** The starting status (ignored for a blocked contact, whose conversation starts RESOLVED). */
  status?: ConversationStatus;
};

/** A new custom attribute definition. */
export type CreateCustomAttributeDefinitionInput = {
  /** The key (letters, digits, `_` and `-`; not a standard field name). */
  attributeKey: Scalars['String']['input'];
  /** A longer description. */
  description?: InputMaybe<Scalars['String']['input']>;
  /** The label shown to people. */
  displayName: Scalars['String']['input'];
  /** How values are typed. */
  displayType: AttributeDisplayType;
  /** Contacts (default) or conversations. */
  model?: AttributeModel;
  /** The allowed values of a LIST attribute (a JSON array of strings). */
  values?: InputMaybe<Scalars['JSON']['input']>;
};

/** A new inbox. */
export type CreateInboxInput = {
  /** The channel kind, e.g. `web`, `api`, `email` (lower-cased). */
  channelType: Scalars['String']['input'];
  /** Display name (1 to 255 characters). */
  name: Scalars['String']['input'];
};

/** A new label of the account's catalogue. */
export type CreateLabelInput = {
  /** Display colour, e.g. `#1f93ff`. */
  color?: InputMaybe<Scalars['String']['input']>;
  /** What the label means. */
  description?: InputMaybe<Scalars['String']['input']>;
  /** Whether the label is listed in the sidebar (default true). */
  showOnSidebar?: InputMaybe<Scalars['Boolean']['input']>;
  /** The name (lower-cased; letters, digits, `_` and `-`). */
  title: Scalars['String']['input'];
};

/** A new message in a conversation. */
export type CreateMessageInput = {
  /** The text (required, at most 150 000 characters). */
  content: Scalars['String']['input'];
  /** The conversation to post in. */
  conversationId: Scalars['ID']['input'];
  /** The kind of message; a contact token may post only INCOMING. */
  messageType?: MessageType;
  /** A private note for the team (members only). */
  private?: Scalars['Boolean']['input'];
};

/** Where a CSV import stands. */
export type DataImportStatus =
  /** Every row was imported or rejected (see `failedRecords`). */
  | 'COMPLETED'
  /** Stopped as a whole; `failureReason` says why and how much landed. */
  | 'FAILED'
  /** Accepted, not started yet. */
  | 'PENDING'
  /** Running: the counts grow a batch at a time. */
  | 'PROCESSING';

/** How a filter condition compares the attribute with its values. */
export type FilterOperator =
  /** The attribute contains any of the values as a case-insensitive substring. */
  | 'CONTAINS'
  /**
   * The date is strictly before today (UTC) minus the given number of days. Takes exactly one
   * value, a non-negative whole number.
   */
  | 'DAYS_BEFORE'
  /** The attribute contains none of the values; a contact without the attribute does not match. */
  | 'DOES_NOT_CONTAIN'
  /** The attribute equals any of the values (text ignoring case). */
  | 'EQUAL_TO'
  /**
   * The attribute is after the value: numerically, or for dates at day granularity (UTC).
   * Takes exactly one value.
   */
  | 'IS_GREATER_THAN'
  /**
   * The attribute is before the value: numerically, or for dates at day granularity (UTC).
   * Takes exactly one value.
   */
  | 'IS_LESS_THAN'
  /** The attribute has no value (labels: the contact has no labels). Takes no values. */
  | 'IS_NOT_PRESENT'
  /** The attribute has a value (labels: the contact has at least one label). Takes no values. */
  | 'IS_PRESENT'
  /**
   * The attribute equals none of the values. A contact without the attribute does not match,
   * except for custom attributes, where a contact missing the key does.
   */
  | 'NOT_EQUAL_TO'
  /** The attribute starts with any of the values. */
  | 'STARTS_WITH';

/** What kind of message it is. */
export type MessageType =
  /** Recorded by the system (status changes, assignments, …); never shown to the contact. */
  | 'ACTIVITY'
  /** From the contact to the team. */
  | 'INCOMING'
  /** From the team to the contact. */
  | 'OUTGOING'
  /** A pre-approved template sent by the team. */
  | 'TEMPLATE';

/** How a condition is joined to the next one. AND binds tighter than OR. */
export type QueryOperator =
  /** Both this condition and the next must hold. */
  | 'AND'
  /** This condition or the next (with AND binding tighter: `A OR B AND C` is `A OR (B AND C)`). */
  | 'OR';

/** A member's role in an account. */
export type Role =
  /** May do everything, including deleting, importing and exporting contacts. */
  | 'ADMINISTRATOR'
  /** May work with contacts and conversations. */
  | 'AGENT';

/** Sort direction. */
export type SortDirection =
  /** Smallest first. */
  | 'ASC'
  /** Largest first. */
  | 'DESC';

/** Changes to a member of the viewer's account (`updateAgent`); omitted fields stay. */
export type UpdateAgentInput = {
  /** New availability in this account. */
  availability?: InputMaybe<Availability>;
  /** New full name (1 to 255 characters; the user's name in every account). */
  name?: InputMaybe<Scalars['String']['input']>;
  /** New role. The last administrator of the account cannot be demoted. */
  role?: InputMaybe<Role>;
};

/**
 * Changes to a contact. Omitted fields stay; `null` (or an empty string) clears a field.
 * `customAttributes` and `additionalAttributes` are merged per key into the stored objects.
 */
export type UpdateContactInput = {
  /** Keys to set in the additional attributes (others stay). */
  additionalAttributes?: InputMaybe<Scalars['JSON']['input']>;
  /** Avatar image URL. */
  avatarUrl?: InputMaybe<Scalars['String']['input']>;
  /** Whether the contact is blocked. */
  blocked?: InputMaybe<Scalars['Boolean']['input']>;
  /** Visitor, lead or customer. */
  contactType?: InputMaybe<ContactType>;
  /** Keys to set in the custom attributes (others stay). */
  customAttributes?: InputMaybe<Scalars['JSON']['input']>;
  /** Email. */
  email?: InputMaybe<Scalars['String']['input']>;
  /** Identifier. */
  identifier?: InputMaybe<Scalars['String']['input']>;
  /** When the contact was last active. */
  lastActivityAt?: InputMaybe<Scalars['DateTime']['input']>;
  /** Last name. */
  lastName?: InputMaybe<Scalars['String']['input']>;
  /** Middle name. */
  middleName?: InputMaybe<Scalars['String']['input']>;
  /** Full name. */
  name?: InputMaybe<Scalars['String']['input']>;
  /** Phone number in E.164. */
  phoneNumber?: InputMaybe<Scalars['String']['input']>;
};

export type LoginMutationVariables = Exact<{
  email: Scalars['String']['input'];
  password: Scalars['String']['input'];
}>;


export type LoginMutation = { login: { token: string, user: { id: string, name: string, role: Role } } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { id: string, name: string, email: string, availability: Availability, accounts: Array<{ id: string, name: string, role: Role }> } };

export type CreateInboxMutationVariables = Exact<{
  input: CreateInboxInput;
}>;


export type CreateInboxMutation = { createInbox: { id: string, name: string, channelType: string } };

export type CreateContactMutationVariables = Exact<{
  input: CreateContactInput;
}>;


export type CreateContactMutation = { createContact: { id: string, name?: string | null, email?: string | null } };

export type CreateConversationMutationVariables = Exact<{
  input: CreateConversationInput;
}>;


export type CreateConversationMutation = { createConversation: { id: string, displayId: number, status: ConversationStatus, inbox: { id: string }, contact: { id: string } } };

export type ConversationMessagesQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  last?: InputMaybe<Scalars['Int']['input']>;
}>;


export type ConversationMessagesQuery = { conversation?: { id: string, messages: { totalCount: number, nodes: Array<{ id: string, content?: string | null }> } } | null };

export type CreateMessageMutationVariables = Exact<{
  input: CreateMessageInput;
}>;


export type CreateMessageMutation = { createMessage: { id: string, content?: string | null, messageType: MessageType, conversationId: string } };

export type OnMessageCreatedSubscriptionVariables = Exact<{
  conversationId?: InputMaybe<Scalars['ID']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type OnMessageCreatedSubscription = { messageCreated: { id: string, content?: string | null, messageType: MessageType, private: boolean, conversationId: string, createdAt: string, sender?:
      | { __typename: 'Contact', id: string, contactName?: string | null }
      | { __typename: 'User', id: string, name: string }
     | null } };

export type OnPresenceUpdatedSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type OnPresenceUpdatedSubscription = { presenceUpdated: { accountId: string, users: Array<{ userId: string, availability: Availability }>, contacts: Array<{ contactId: string, availability: ContactAvailability }> } };

export type OnRoomEventsSubscriptionVariables = Exact<{
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type OnRoomEventsSubscription = { roomEvents: { event: string, position: string, data: unknown } };


export const LoginDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"Login"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"email"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"password"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"login"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"email"},"value":{"kind":"Variable","name":{"kind":"Name","value":"email"}}},{"kind":"Argument","name":{"kind":"Name","value":"password"},"value":{"kind":"Variable","name":{"kind":"Name","value":"password"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"token"}},{"kind":"Field","name":{"kind":"Name","value":"user"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"role"}}]}}]}}]}}]} as unknown as DocumentNode<LoginMutation, LoginMutationVariables>;
export const MeDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Me"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"me"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"availability"}},{"kind":"Field","name":{"kind":"Name","value":"accounts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"role"}}]}}]}}]}}]} as unknown as DocumentNode<MeQuery, MeQueryVariables>;
export const CreateInboxDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateInbox"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateInboxInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createInbox"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"channelType"}}]}}]}}]} as unknown as DocumentNode<CreateInboxMutation, CreateInboxMutationVariables>;
export const CreateContactDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateContact"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateContactInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createContact"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"email"}}]}}]}}]} as unknown as DocumentNode<CreateContactMutation, CreateContactMutationVariables>;
export const CreateConversationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateConversation"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateConversationInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createConversation"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"inbox"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}},{"kind":"Field","name":{"kind":"Name","value":"contact"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}}]} as unknown as DocumentNode<CreateConversationMutation, CreateConversationMutationVariables>;
export const ConversationMessagesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConversationMessages"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"last"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"conversation"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"messages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"last"},"value":{"kind":"Variable","name":{"kind":"Name","value":"last"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"content"}}]}}]}}]}}]}}]} as unknown as DocumentNode<ConversationMessagesQuery, ConversationMessagesQueryVariables>;
export const CreateMessageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateMessage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateMessageInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createMessage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"messageType"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}}]}}]}}]} as unknown as DocumentNode<CreateMessageMutation, CreateMessageMutationVariables>;
export const OnMessageCreatedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"OnMessageCreated"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"conversationId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"messageCreated"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"conversationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"conversationId"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"messageType"}},{"kind":"Field","name":{"kind":"Name","value":"private"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"sender"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"User"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Contact"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","alias":{"kind":"Name","value":"contactName"},"name":{"kind":"Name","value":"name"}}]}}]}}]}}]}}]} as unknown as DocumentNode<OnMessageCreatedSubscription, OnMessageCreatedSubscriptionVariables>;
export const OnPresenceUpdatedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"OnPresenceUpdated"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"presenceUpdated"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accountId"}},{"kind":"Field","name":{"kind":"Name","value":"users"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"availability"}}]}},{"kind":"Field","name":{"kind":"Name","value":"contacts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"contactId"}},{"kind":"Field","name":{"kind":"Name","value":"availability"}}]}}]}}]}}]} as unknown as DocumentNode<OnPresenceUpdatedSubscription, OnPresenceUpdatedSubscriptionVariables>;
export const OnRoomEventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"OnRoomEvents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"roomEvents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"event"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"data"}}]}}]}}]} as unknown as DocumentNode<OnRoomEventsSubscription, OnRoomEventsSubscriptionVariables>;