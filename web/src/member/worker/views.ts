// What the API answers about conversations (the parts the worker reads).
export interface ConversationView {
  id: string;
  sealed_key: string;
  /** Where the guest's links go: the address `confirmed` is about. */
  guest_email: string;
  confirmed: boolean;
  last_seq: number;
  unread: number;
  link_requested: boolean;
  created_at: number;
  last_activity_at: number;
}

export interface ConversationList {
  conversations: ConversationView[];
  next_before: string | null;
}
