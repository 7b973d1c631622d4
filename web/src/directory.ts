// People the console knows by id, to name the owner of an account and the actor of an audit
// event: staff read one page of users (ListUsers, which tellers, auditors and admins may call)
// and everyone the people view lists is added. Customers never call it (they cannot).
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import type { User } from "../../gen/bank/v1/user_pb";
import type { Permissions } from "./access";
import type { Api } from "./api";
import { consoleLimits } from "./limits";

export class Directory {
  private readonly users = new Map<string, User>();
  private loading: Promise<void> | undefined;

  constructor(private readonly api: Api) {}

  /** Reads the first page of users, when the roles allow it: once per sign-in, or again when
   * `fresh` (a list is about to be shown, and people may have joined since). */
  ensure(perms: Permissions, fresh = false): Promise<void> {
    if (!perms.may(AdminService.method.listUsers)) return Promise.resolve();
    if (fresh) this.loading = undefined;
    this.loading ??= this.api.admin
      .listUsers({ pageSize: consoleLimits.ownerDirectorySize })
      .then((res) => this.add(res.users))
      .catch(() => {
        // Names are a convenience: without them owners show by id; try again next time.
        this.loading = undefined;
      });
    return this.loading;
  }

  add(users: readonly User[]): void {
    for (const user of users) this.users.set(user.id, user);
  }

  get(id: string): User | undefined {
    return this.users.get(id);
  }

  /** "Carol Customer <carol@example.com>", or the id when the person is not known here. */
  label(id: string): string {
    if (id === "") return "";
    const user = this.users.get(id);
    return user ? `${user.fullName} <${user.email}>` : id;
  }

  clear(): void {
    this.users.clear();
    this.loading = undefined;
  }
}
