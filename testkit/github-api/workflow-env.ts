/**
 * Sets the variables a workflow run would have, pointing GitHub API calls at a fake server, and restores
 * the previous values afterwards. Free of jest.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const WORKFLOW_VARIABLES = [
  'GITHUB_REPOSITORY',
  'GITHUB_SHA',
  'GITHUB_EVENT_NAME',
  'GITHUB_EVENT_PATH',
  'GITHUB_API_URL',
  'GITHUB_RUN_ID',
  'GITHUB_SERVER_URL',
  'GITHUB_STEP_SUMMARY'
] as const

export interface WorkflowEnv {
  env: NodeJS.ProcessEnv
  summaryPath: string
  restore(): void
}

export function setWorkflowEnv(settings: {
  apiUrl: string
  eventName: string
  event?: unknown
  sha?: string
  repository?: string
}): WorkflowEnv {
  const saved = new Map(WORKFLOW_VARIABLES.map(name => [name, process.env[name]]))
  const directory = mkdtempSync(join(tmpdir(), 'canary-workflow-'))
  const eventPath = join(directory, 'event.json')
  const summaryPath = join(directory, 'summary.md')
  writeFileSync(eventPath, JSON.stringify(settings.event ?? {}))
  writeFileSync(summaryPath, '')
  Object.assign(process.env, {
    GITHUB_REPOSITORY: settings.repository ?? 'octo-org/bookinfo',
    GITHUB_SHA: settings.sha ?? 'abc1230000000000000000000000000000000000',
    GITHUB_EVENT_NAME: settings.eventName,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_API_URL: settings.apiUrl,
    GITHUB_RUN_ID: '4242',
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_STEP_SUMMARY: summaryPath
  })
  return {
    env: process.env,
    summaryPath,
    restore() {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
      rmSync(directory, { recursive: true, force: true })
    }
  }
}
