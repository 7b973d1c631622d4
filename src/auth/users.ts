// Users: creation (the one path for Register, the create-user CLI and admins), lookups, and the
// mapping to the wire message.
import type { Tx } from "../db/database";
import { classifyDbError } from "../db/errors";
import { User, type UserEntity } from "../db/entities";
import { alreadyExists } from "../errors";
import { uuidv7 } from "../util/ids";
import { preparedQuery } from "../db/prepared-query";
import type { Role } from "../roles";
import type { PasswordHasher } from "./passwords";
import { validEmail, validFullName, validNewPassword } from "./policy";
import { rolesToColumn } from "./roles";

export type { UserEntity } from "../db/entities";

export interface NewUser {
  email: string;
  fullName: string;
  password: string;
  roles: Role[];
}

// Prepared (src/db/prepared-query.ts): the lookup by email runs on every Login and the lookup by id
// on every GetCurrentUser and refresh; bench/coldpaths-micro.ts has the figures.
const userByEmail = preparedQuery(User, "u", (qb, p) => qb.select("*").where({ email: p(0) }));
const userById = preparedQuery(User, "u", (qb, p) => qb.select("*").where({ id: p(0) }));

/** Checks email, name and password policy and normalizes them; throws INVALID_ARGUMENT. */
export async function validNewUser(input: NewUser): Promise<NewUser> {
  const email = validEmail(input.email);
  const fullName = validFullName(input.fullName);
  const password = await validNewPassword(input.password, { email, fullName });
  return { email, fullName, password, roles: input.roles };
}

/** Creates a user after the same checks as Register; ALREADY_EXISTS when the email is taken. */
export async function createUser(tx: Tx, input: NewUser, hasher: PasswordHasher, nowMs: number = Date.now()): Promise<UserEntity> {
  const user = await validNewUser(input);
  if (await findUserByEmail(tx, user.email)) throw emailTaken();
  const entity = tx.em.create(User, {
    id: uuidv7(nowMs),
    email: user.email,
    fullName: user.fullName,
    passwordHash: await hasher.hash(user.password),
    roles: rolesToColumn(user.roles),
    disabled: 0,
    createTime: nowMs,
    updateTime: nowMs,
  });
  try {
    // Flushed now rather than at COMMIT, so that a concurrent registration of the same email,
    // which wins the unique index, is told apart from any other failure.
    await tx.em.flush();
  } catch (err) {
    if (classifyDbError(err) === "unique") throw emailTaken();
    throw err;
  }
  return entity;
}

export function findUserByEmail(tx: Tx, email: string): Promise<UserEntity | undefined> {
  return userByEmail.one(tx, [email]);
}

export function findUserById(tx: Tx, id: string): Promise<UserEntity | undefined> {
  return userById.one(tx, [id]);
}

export function isDisabled(user: Pick<UserEntity, "disabled">): boolean {
  return Number(user.disabled) !== 0;
}

export function emailTaken() {
  return alreadyExists("EMAIL_TAKEN", "A user with this email address already exists.");
}
