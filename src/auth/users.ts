// Users: creation (the one path for Register, the create-user CLI and admins), lookups, and the
// mapping to the wire message.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Tx } from "../db/database";
import { classifyDbError } from "../db/database";
import { alreadyExists } from "../errors";
import { uuidv7 } from "../ids";
import { UserSchema, type User } from "../../gen/bank/v1/user_pb";
import type { Role } from "../../gen/bank/v1/access_pb";
import type { PasswordHasher } from "./passwords";
import { validEmail, validFullName, validNewPassword } from "./policy";
import { rolesFromColumn, rolesToColumn } from "./roles";

export interface UserRow {
  id: string;
  email: string;
  full_name: string;
  password_hash: string;
  roles: string;
  disabled: number | string;
  /** BIGINT: a string on PostgreSQL. */
  create_time: number | string;
  update_time: number | string;
}

export interface NewUser {
  email: string;
  fullName: string;
  password: string;
  roles: Role[];
}

const USER_COLUMNS = "id, email, full_name, password_hash, roles, disabled, create_time, update_time";

/** Checks email, name and password policy and normalizes them; throws INVALID_ARGUMENT. */
export async function validNewUser(input: NewUser): Promise<NewUser> {
  const email = validEmail(input.email);
  const fullName = validFullName(input.fullName);
  const password = await validNewPassword(input.password, { email, fullName });
  return { email, fullName, password, roles: input.roles };
}

/** Creates a user after the same checks as Register; ALREADY_EXISTS when the email is taken. */
export async function createUser(tx: Tx, input: NewUser, hasher: PasswordHasher, nowMs: number = Date.now()): Promise<UserRow> {
  const user = await validNewUser(input);
  if (await findUserByEmail(tx, user.email)) throw emailTaken();
  const row: UserRow = {
    id: uuidv7(nowMs),
    email: user.email,
    full_name: user.fullName,
    password_hash: await hasher.hash(user.password),
    roles: rolesToColumn(user.roles),
    disabled: 0,
    create_time: nowMs,
    update_time: nowMs,
  };
  try {
    await tx.run(`INSERT INTO users (${USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [
      row.id, row.email, row.full_name, row.password_hash, row.roles, row.disabled, row.create_time, row.update_time,
    ]);
  } catch (err) {
    // A concurrent registration of the same email won the unique index.
    if (classifyDbError(err) === "unique") throw emailTaken();
    throw err;
  }
  return row;
}

export function findUserByEmail(tx: Tx, email: string): Promise<UserRow | undefined> {
  return tx.one<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE email = ?`, [email]);
}

export function findUserById(tx: Tx, id: string): Promise<UserRow | undefined> {
  return tx.one<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`, [id]);
}

export function isDisabled(row: Pick<UserRow, "disabled">): boolean {
  return Number(row.disabled) !== 0;
}

/** The wire form of a user row (any SELECT with these columns will do). */
export function userToMessage(row: Pick<UserRow, "id" | "email" | "full_name" | "roles" | "disabled" | "create_time">): User {
  return create(UserSchema, {
    id: row.id,
    email: row.email,
    fullName: row.full_name,
    roles: rolesFromColumn(row.roles),
    createTime: timestampFromMs(Number(row.create_time)),
    disabled: isDisabled(row),
  });
}

export function emailTaken() {
  return alreadyExists("EMAIL_TAKEN", "A user with this email address already exists.");
}
